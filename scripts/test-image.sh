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
# (examples/hello.yaml). minga/tls:1 adds the host's openssl (with the
# libraries it links) and a self-signed certificate for each of a.test and
# b.test in /etc/tls, so `openssl s_server` terminates TLS inside a container
# (the routing mesh passes TLS through). Images already on the engine at this
# revision (REV, in the image's environment) are left alone; older ones are
# rebuilt.
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

current () {
  docker_ image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null | grep -qx "MINGA_TEST_IMAGE_REV=$REV"
}

# the busybox tree of an image in $1
busybox_tree () {
  local dir=$1 version=$2 image=$3
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
}

build () {
  local version=$1 image=minga/busybox:$1 dir
  if current "$image"; then echo "$image is already on the engine"; return 0; fi
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  busybox_tree "$dir" "$version" "$image"
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -c . |
    docker_ import -c 'ENV PATH=/bin' -c "ENV MINGA_TEST_IMAGE_REV=$REV" -c 'CMD ["sh"]' - "$image" >/dev/null
  echo "$image built"
}

build_tls () {
  local image=minga/tls:1 dir openssl lib
  if current "$image"; then echo "$image is already on the engine"; return 0; fi
  openssl=$(command -v openssl) || die "openssl is missing on this host; install it (apt-get install openssl) to build $image"
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  busybox_tree "$dir" tls "$image"
  mkdir -p "$dir/usr/bin" "$dir/etc/tls"
  cp "$openssl" "$dir/usr/bin/openssl"
  # the libraries it links, at the paths the loader looks for them
  for lib in $(ldd "$openssl" | grep -o '/[^ ]*'); do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$lib" "$dir$lib"
  done
  for name in a.test b.test; do
    "$openssl" req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
      -keyout "$dir/etc/tls/$name.key" -out "$dir/etc/tls/$name.crt" 2>/dev/null
  done
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -c . |
    docker_ import -c 'ENV PATH=/bin:/usr/bin' -c "ENV MINGA_TEST_IMAGE_REV=$REV" -c 'CMD ["sh"]' - "$image" >/dev/null
  echo "$image built"
}

build 1
build 2
build_tls
