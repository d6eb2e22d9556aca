#!/usr/bin/env bash
# Refresh vendored front-end libraries from the npm registry at the versions pinned in web/vendor/VERSIONS.
# Nothing is fetched at run time; the node serves these files itself.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' web/vendor/VERSIONS | while read -r pkg version dir files; do
    [ -n "$pkg" ] || continue
    (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null && mkdir -p "$pkg" && tar xzf ./*.tgz -C "$pkg" && rm ./*.tgz)
    mkdir -p "web/vendor/$dir"
    for f in $files; do cp "$tmp/$pkg/package/$f" "web/vendor/$dir/"; done
    echo "$pkg@$version -> web/vendor/$dir"
done
