/* The single-file `cryb`: this launcher with the PyInstaller one-folder build appended to it.
 *
 * PyInstaller's one-file mode unpacks ~150 MB into a fresh temp dir on every start (1.7-4.8 s here);
 * this unpacks once per version into a cache directory and execs the one-folder build from there:
 *
 *   $CACHE_DIRECTORY (systemd's CacheDirectory=), else $XDG_CACHE_HOME/cryb, else $HOME/.cache/cryb,
 *   else $TMPDIR or /tmp /cryb-<uid>;  then /<key>/ with <key> the payload's sha256.
 * (No CRYB_* variable: those are the node's configuration overrides.)
 *
 * A copy is unpacked into a temporary sibling and renamed into place, so a crash or a second start
 * at the same moment never leaves (or runs) a half-written tree. The directories must belong to this
 * user and be writable by nobody else, or the launcher refuses to run code from them.
 *
 * Payload (written by packaging/sfx.py): entries of
 *   u32 path length, path, u32 mode, u64 stored length, u64 size, zlib stream (or a symlink target)
 * then the trailer: u64 payload offset, 64 hex chars of key, 8 bytes magic "CRYBSFX1".
 * Integers are little-endian. Mode S_IFLNK marks a symlink whose stored bytes are its target.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "CRYBSFX1"
#define KEYLEN 64
#define TRAILER (8 + KEYLEN + 8)

static void die(const char *what) {
    fprintf(stderr, "cryb: %s: %s\n", what, errno ? strerror(errno) : "bad payload");
    exit(127);
}

static int read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static uint64_t le64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A directory of ours that no one else may write into (created 0700 if missing). */
static int private_dir(const char *path) {
    struct stat st;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
    if (lstat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static int mkdirs(char *path) { /* mkdir -p, each new component 0700 */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(path, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

static int cache_base(char *out, size_t n) {
    const char *sysd = getenv("CACHE_DIRECTORY");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    const char *candidates[4] = {0};
    char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
    int k = 0;
    if (sysd && *sysd) {
        snprintf(a, sizeof a, "%s", sysd);
        char *colon = strchr(a, ':'); /* several directories: the first */
        if (colon) *colon = '\0';
        candidates[k++] = a;
    }
    if (xdg && *xdg == '/') {
        snprintf(b, sizeof b, "%s/cryb", xdg);
        candidates[k++] = b;
    } else if (home && *home == '/' && strcmp(home, "/") != 0) {
        snprintf(b, sizeof b, "%s/.cache/cryb", home);
        candidates[k++] = b;
    }
    snprintf(c, sizeof c, "%s/cryb-%u", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (unsigned)getuid());
    candidates[k++] = c;
    for (int i = 0; i < k; i++) {
        snprintf(out, n, "%s", candidates[i]);
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", candidates[i]);
        if (mkdirs(parent) == 0 && private_dir(out) == 0 && access(out, W_OK) == 0) return 0;
    }
    return -1;
}

static int inflate_to(int in, int out, uint64_t stored) {
    unsigned char src[1 << 16], dst[1 << 17];
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) return -1;
    int ret = Z_OK;
    while (stored > 0 && ret != Z_STREAM_END) {
        size_t want = stored < sizeof src ? (size_t)stored : sizeof src;
        if (read_full(in, src, want) != 0) break;
        stored -= want;
        z.next_in = src;
        z.avail_in = (uInt)want;
        do {
            z.next_out = dst;
            z.avail_out = sizeof dst;
            ret = inflate(&z, Z_NO_FLUSH);
            if (ret != Z_OK && ret != Z_STREAM_END) {
                inflateEnd(&z);
                return -1;
            }
            size_t have = sizeof dst - z.avail_out;
            for (size_t off = 0; off < have;) {
                ssize_t w = write(out, dst + off, have - off);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) {
                    inflateEnd(&z);
                    return -1;
                }
                off += (size_t)w;
            }
        } while (z.avail_out == 0);
    }
    inflateEnd(&z);
    return (ret == Z_STREAM_END && stored == 0) ? 0 : -1;
}

static int unpack(int fd, uint64_t offset, uint64_t end, const char *root) {
    if (lseek(fd, (off_t)offset, SEEK_SET) < 0) return -1;
    uint64_t pos = offset;
    while (pos < end) {
        unsigned char h[4];
        if (read_full(fd, h, 4) != 0) return -1;
        uint32_t plen = le32(h);
        if (plen == 0 || plen >= PATH_MAX / 2) return -1;
        char rel[PATH_MAX];
        if (read_full(fd, rel, plen) != 0) return -1;
        rel[plen] = '\0';
        if (rel[0] == '/' || strstr(rel, "..")) return -1; /* stays inside the tree */
        unsigned char m[4 + 8 + 8];
        if (read_full(fd, m, sizeof m) != 0) return -1;
        uint32_t mode = le32(m);
        uint64_t stored = le64(m + 4);
        pos += 4 + plen + sizeof m + stored;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        if (mkdirs(path) != 0) return -1;
        *slash = '/';
        if (S_ISLNK(mode)) {
            char target[PATH_MAX];
            if (stored >= sizeof target || read_full(fd, target, (size_t)stored) != 0) return -1;
            target[stored] = '\0';
            if (symlink(target, path) != 0) return -1;
            continue;
        }
        int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode & 0111) ? 0700 : 0600);
        if (out < 0) return -1;
        int bad = inflate_to(fd, out, stored);
        if (close(out) != 0 || bad) return -1;
    }
    return 0;
}

static void remove_tree(const char *path) {
    /* Only a half-written tree of our own under the cache dir; /bin/rm keeps this file short. */
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) die("cannot find its own file");
    self[n] = '\0';
    int fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(self);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < TRAILER) die("no payload");
    unsigned char trailer[TRAILER];
    if (lseek(fd, st.st_size - TRAILER, SEEK_SET) < 0 || read_full(fd, trailer, TRAILER) != 0) die(self);
    if (memcmp(trailer + 8 + KEYLEN, MAGIC, 8) != 0) {
        errno = 0;
        die("no payload");
    }
    uint64_t offset = le64(trailer);
    char key[KEYLEN + 1];
    memcpy(key, trailer + 8, KEYLEN);
    key[KEYLEN] = '\0';
    for (int i = 0; i < KEYLEN; i++)
        if (!strchr("0123456789abcdef", key[i])) {
            errno = 0;
            die("bad payload key");
        }

    char base[PATH_MAX], dir[PATH_MAX], exe[PATH_MAX];
    if (cache_base(base, sizeof base) != 0 || strlen(base) > PATH_MAX / 4)
        die("no private cache directory to unpack into");
    snprintf(dir, sizeof dir, "%s/%s", base, key);
    snprintf(exe, sizeof exe, "%s/cryb", dir);
    if (access(exe, X_OK) != 0) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s/.%s.%ld", base, key, (long)getpid());
        if (mkdir(tmp, 0700) != 0) die(tmp);
        if (unpack(fd, offset, (uint64_t)st.st_size - TRAILER, tmp) != 0) {
            int err = errno;
            remove_tree(tmp);
            errno = err;
            die("unpacking failed");
        }
        if (rename(tmp, dir) != 0) { /* another start won the race: use its copy */
            remove_tree(tmp);
            if (access(exe, X_OK) != 0) die(dir);
        }
    }
    if (private_dir(dir) != 0) die(dir);
    close(fd);
    argv[0] = exe;
    execv(exe, argv);
    die(exe);
    return 127;
}
