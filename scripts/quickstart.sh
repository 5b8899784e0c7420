#!/usr/bin/env bash
# Sets up and runs a minga node on this machine:
#   bash scripts/quickstart.sh [ORG]
# installs the npm dependencies and builds; makes sure a Docker engine answers (starting
# an isolated one with scripts/docker-engine.sh when none does); creates a mesh for ORG
# (default: "home") on first run; then runs the node in the foreground (Ctrl-C stops it).
# MINGA_DATA picks the data dir (default ~/.minga).
set -euo pipefail
cd "$(dirname "$0")/.."
ORG=${1:-home}

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
MINGA="node packages/cli/bin/minga.js"

SOCK=${DOCKER_HOST#unix://}
SOCK=${SOCK:-/var/run/docker.sock}
if ! docker -H "unix://$SOCK" version >/dev/null 2>&1; then
  echo "No Docker engine answers on $SOCK; starting an isolated one (scripts/docker-engine.sh start main)" >&2
  bash scripts/docker-engine.sh ensure
  SOCK=$(bash scripts/docker-engine.sh start main)
  bash scripts/test-image.sh "$SOCK" >&2
fi

if [ ! -f "${MINGA_DATA:-$HOME/.minga}/mesh.json" ]; then
  $MINGA init --org "$ORG"
fi
echo "Node starting; in another terminal try: npx minga status   (or: minga invite, minga deploy -f FILE)" >&2
exec $MINGA up --docker-host "$SOCK"
