#!/usr/bin/env bash
# Build minga's local test images on one Docker engine, without a registry:
#
#   scripts/test-image.sh SOCKET     (a unix socket path, or unix:///path)
#
# minga/busybox:1 and minga/busybox:2 hold a static busybox with its applets
# (sh, echo, sleep, true, false, cat, wget, httpd, nc…) in /bin. They differ
# only in /etc/minga-test-image ("1" or "2") and the version named in
# /var/www/index.html (a "Hello from minga" page), so they have distinct image
# ids for rolling-update tests; `httpd -f -p 8080 -h /var/www` serves the page
# (examples/hello.yaml). Images already on the engine at this revision
# (REV, in the image's environment) are left alone; older ones are rebuilt.
set -euo pipefail

die () { echo "test-image: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 SOCKET"
SOCK=${1#unix://}
[ -S "$SOCK" ] || die "$SOCK is not a socket; start an engine with scripts/docker-engine.sh start NAME"
BUSYBOX=${MINGA_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing; install it with scripts/docker-engine.sh ensure"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is linked dynamically; the image needs busybox-static (scripts/docker-engine.sh ensure)"; fi

docker_ () { docker -H "unix://$SOCK" "$@"; }
REV=2

build () {
  local version=$1 image=minga/busybox:$1 dir
  if docker_ image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" 2>/dev/null | grep -qx "MINGA_TEST_IMAGE_REV=$REV"; then
    echo "$image is already on the engine"; return 0
  fi
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  mkdir -p "$dir"/{bin,etc,root,tmp,var/www}
  chmod 1777 "$dir/tmp"
  cp "$BUSYBOX" "$dir/bin/busybox"
  # relative links: `busybox --install -s` would point them at the host's path
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  echo "$version" >"$dir/etc/minga-test-image"
  cat >"$dir/var/www/index.html" <<HTML
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hello from minga</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3em">
<h1>Hello from minga</h1>
<p>This page is served by a replica of <code>$image</code>, placed and started by the mesh.</p>
<p>Try <code>minga ps hello</code> to see where it runs, and <code>minga scale hello=2</code>.</p>
</body></html>
HTML
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -c . |
    docker_ import -c 'ENV PATH=/bin' -c "ENV MINGA_TEST_IMAGE_REV=$REV" -c 'CMD ["sh"]' - "$image" >/dev/null
  echo "$image built"
}

build 1
build 2
