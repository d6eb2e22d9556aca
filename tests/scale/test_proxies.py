"""The load balancer configurations the docs give, run with Debian's own servers (issue 25): the Caddy
and nginx blocks of docs/scaling.md, taken from the document itself with loopback addresses put in,
balance HTTP and WebSockets over two edges and keep serving when one edge is killed; the files in
packaging/ pass the servers' own checks (`caddy validate`, `nginx -t`). Skipped where the server is
not installed (`apt-get install caddy nginx-light`)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, free_port

from .conftest import Cluster, needs_nats
from .helpers import Listener, call, register

pytestmark = needs_nats
CADDY = shutil.which("caddy") or "/usr/bin/caddy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_caddy = pytest.mark.skipif(not Path(CADDY).exists(), reason="caddy is not installed")
needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")


def documented(server: str) -> str:
    """The fenced block after "<server>:" in docs/scaling.md's load balancer section."""
    doc = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Load balancer examples") :]
    found = re.search(rf"^{server}:\n\n```\n(.*?)```", section, re.S | re.M)
    assert found, f"no {server} block in docs/scaling.md"
    return found.group(1)


def _edges_at(conf: str, ports: list[int]) -> str:
    for i, port in enumerate(ports, 1):
        conf = conf.replace(f"edge{i}.internal:8080", f"127.0.0.1:{port}")
    assert ".internal" not in conf
    return conf


def caddy_env(root: Path) -> dict[str, str]:
    # Caddy keeps its state under $HOME / XDG dirs: a temp dir, not the machine's
    return {**os.environ, "HOME": str(root), "XDG_DATA_HOME": str(root), "XDG_CONFIG_HOME": str(root)}


def caddy_config(root: Path, port: int, edges: list[int]) -> Path:
    site = _edges_at(documented("Caddy"), edges).replace("cryb.example.org {", f"http://127.0.0.1:{port} {{")
    path = root / "Caddyfile"
    # plain HTTP on loopback, no admin endpoint (several tests may run at once)
    path.write_text("{\n\tadmin off\n\tauto_https off\n}\n\n" + site, encoding="utf-8")
    return path


def nginx_main(root: Path, servers: str) -> Path:
    """A whole nginx.conf in ``root`` around ``servers`` (the documented http-level blocks)."""
    for d in ("tmp", "logs"):
        (root / d).mkdir(exist_ok=True)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"    {k}_temp_path {root / 'tmp' / k};\n" for k in kinds)
    path = root / "nginx.conf"
    path.write_text(
        f"daemon off;\nmaster_process off;\npid {root / 'nginx.pid'};\nerror_log {root / 'logs/error.log'};\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp}{servers}\n}}\n",
        encoding="utf-8",
    )
    return path


def nginx_config(root: Path, port: int, edges: list[int]) -> Path:
    conf = _edges_at(documented("nginx"), edges)
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    assert "ssl" not in conf
    return nginx_main(root, conf)


class Proxy:
    def __init__(self, kind: str, root: Path, edges: list[int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(exist_ok=True)
        self.log = root / f"{kind}.log"
        if kind == "caddy":
            conf = caddy_config(root, self.port, edges)
            args, env = [CADDY, "run", "--adapter", "caddyfile", "--config", str(conf)], caddy_env(root)
        else:
            args, env = [NGINX, "-p", str(root), "-c", str(nginx_config(root, self.port, edges))], None
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))

    async def wait_up(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                async with http.get(self.url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()[-2000:]
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(params=[pytest.param("caddy", marks=needs_caddy), pytest.param("nginx", marks=needs_nginx)])
def behind_proxy(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[tuple[Cluster, Proxy]]:
    cluster.start_primary()
    e1, e2 = cluster.start_edge("edge1"), cluster.start_edge("edge2")
    proxy = Proxy(request.param, cluster.root / request.param, [e1.port, e2.port])
    try:
        yield cluster, proxy
    finally:
        proxy.stop()


async def _served(http: aiohttp.ClientSession, base: str) -> int:
    """Requests for a channel's messages this edge answered (its /metrics)."""
    async with http.get(base + "/metrics") as resp:
        text = await resp.text()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("cryb_http_request_duration_seconds_count")
        and 'method="GET"' in line
        and "/messages" in line
    )


async def test_the_documented_proxy_balances_http_and_websockets_over_two_edges(behind_proxy):
    cluster, proxy = behind_proxy
    e1, e2 = cluster.edges
    async with aiohttp.ClientSession() as http:
        await proxy.wait_up(http)
        _, ada = await register(http, proxy.url, "ada")  # a write, through an edge to the primary
        auth = {"Authorization": f"Bearer {ada}"}
        async with http.post(
            f"{proxy.url}/api/v1/communities", headers=auth, json={"name": "proxyroom", "public": True}
        ) as resp:
            assert resp.status == 201
            community = (await resp.json())["id"]
            # the next read may reach the other edge: it waits until it has applied this write
            seen = {"Cryb-Log-Position": resp.headers["Cryb-Log-Position"]}
        got = await call(http, proxy.url, "GET", f"communities/{community}/channels", ada, headers=seen)
        text = next(c["id"] for c in got["channels"] if c["kind"] == "text")
        before = [await _served(http, e.url) for e in (e1, e2)]
        # one connection per request (as many browsers are): the balancer picks an edge each time,
        # and each read carries the position, as the web UI's do (the edge that did not serve the
        # read above may not have the community yet)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
            for _ in range(20):
                await call(fresh, proxy.url, "GET", f"channels/{text}/messages", ada, headers=seen)
        after = [await _served(http, e.url) for e in (e1, e2)]
        shares = [a - b for a, b in zip(after, before, strict=True)]
        assert sum(shares) == 20 and min(shares) > 0, shares

        # WebSockets through the proxy: upgraded, identified, and sent what is written
        listeners = [await Listener(proxy.url, ada).open() for _ in range(6)]
        said = await call(http, proxy.url, "POST", f"channels/{text}/messages", ada, json={"content": "hi"})
        for lst in listeners:
            await lst.wait_messages({said["id"]})

        # kill -9 one edge: its sockets drop, the others stay; the proxy sends new clients and
        # requests to the edge that is left
        e1.kill()
        await asyncio.sleep(1)
        dropped = [lst for lst in listeners if lst.closed.is_set()]
        assert 0 < len(dropped) < len(listeners), "sockets were spread over both edges"
        for _ in range(10):
            await call(http, proxy.url, "GET", f"channels/{text}/messages", ada)
        again = [await Listener(proxy.url, ada).open() for _ in dropped]
        later = await call(http, proxy.url, "POST", f"channels/{text}/messages", ada, json={"content": "yo"})
        for lst in [*again, *(x for x in listeners if x not in dropped)]:
            await lst.wait_messages({later["id"]})
            await lst.close()


@needs_caddy
def test_the_packaged_caddyfile_is_valid(tmp_path: Path):
    out = subprocess.run(
        [CADDY, "validate", "--adapter", "caddyfile", "--config", str(ROOT / "packaging" / "Caddyfile")],
        env=caddy_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]


@needs_nginx
def test_the_packaged_nginx_conf_is_valid(tmp_path: Path):
    # its certificate paths are Let's Encrypt's: point them at a throwaway self-signed pair
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=cryb.test",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    conf = (ROOT / "packaging" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("/etc/letsencrypt/live/cryb.example.org/", f"{tmp_path}/")
    conf = conf.replace("listen 443 ssl", f"listen 127.0.0.1:{free_port()} ssl").replace(
        "listen 80;", f"listen 127.0.0.1:{free_port()};"
    )
    main = nginx_main(tmp_path, conf)
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr
