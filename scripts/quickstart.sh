#!/usr/bin/env bash
# Sets up and runs a minga node on this machine:
#
#   bash scripts/quickstart.sh [ORG] [--listen MULTIADDR] [--door MULTIADDR] [--http ADDR:PORT|off] [--docker-host SOCKET]
#
# or the same through the environment: MINGA_ORG, MINGA_LISTEN, MINGA_DOOR, MINGA_HTTP, DOCKER_HOST
# (MINGA_DATA picks the data dir, default ~/.minga). It installs the npm dependencies and builds;
# makes sure a Docker engine answers (the one given, else DOCKER_HOST, else /var/run/docker.sock, else an
# isolated one it starts with scripts/docker-engine.sh) and builds the example images on that engine
# (scripts/test-image.sh: minga/busybox:1 and :2); creates a mesh for ORG (default "home") on first run;
# then runs the node in the foreground (Ctrl-C stops it). Once it says "ready", in another terminal:
#
#   node_modules/.bin/minga deploy -f examples/hello.yaml --wait     # then open http://127.0.0.1:8080/
set -euo pipefail
cd "$(dirname "$0")/.."

die () { echo "quickstart: $*" >&2; exit 2; }

ORG=${MINGA_ORG:-home}
LISTEN=${MINGA_LISTEN:-}
DOOR=${MINGA_DOOR:-}
HTTP=${MINGA_HTTP:-}
ENGINE=${DOCKER_HOST:-}
while [ $# -gt 0 ]; do
  case $1 in
    --listen) [ $# -ge 2 ] || die "--listen takes a multiaddr, e.g. /ip4/0.0.0.0/tcp/7946"; LISTEN=$2; shift 2 ;;
    --door) [ $# -ge 2 ] || die "--door takes a multiaddr, e.g. /ip4/0.0.0.0/tcp/7947"; DOOR=$2; shift 2 ;;
    --http) [ $# -ge 2 ] || die "--http takes ADDRESS:PORT or off, e.g. 127.0.0.1:7948"; HTTP=$2; shift 2 ;;
    --docker-host) [ $# -ge 2 ] || die "--docker-host takes a socket path, e.g. /var/run/docker.sock"; ENGINE=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) ORG=$1; shift ;;
  esac
done

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
MINGA="node packages/cli/bin/minga.js"

SOCK=${ENGINE#unix://}
SOCK=${SOCK:-/var/run/docker.sock}
if ! docker -H "unix://$SOCK" version >/dev/null 2>&1; then
  [ -z "$ENGINE" ] || die "no Docker engine answers on $SOCK; start it, or leave out --docker-host/DOCKER_HOST to get an isolated one"
  echo "No Docker engine answers on $SOCK; starting an isolated one (scripts/docker-engine.sh start main)" >&2
  bash scripts/docker-engine.sh ensure
  SOCK=$(bash scripts/docker-engine.sh start main)
fi
# the example images, on whichever engine this node uses: a static busybox is all they need
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then
  echo "quickstart: installing busybox-static for the example images" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
fi
bash scripts/test-image.sh "$SOCK" >&2
# restic takes the encrypted snapshots of services' volumes (without it a node keeps its volumes local)
if ! command -v restic >/dev/null; then
  echo "quickstart: installing restic for volume backups" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends restic >/dev/null
fi

if [ ! -f "${MINGA_DATA:-$HOME/.minga}/mesh.json" ]; then
  $MINGA init --org "$ORG"
fi
UP=(up --docker-host "$SOCK")
[ -z "$LISTEN" ] || UP+=(--listen "$LISTEN")
[ -z "$DOOR" ] || UP+=(--door "$DOOR")
[ -z "$HTTP" ] || UP+=(--http "$HTTP")
echo "Node starting; once it says ready, in another terminal: node_modules/.bin/minga deploy -f examples/hello.yaml --wait   and open http://127.0.0.1:8080/ (also: minga status, minga invite)" >&2
exec $MINGA "${UP[@]}"
