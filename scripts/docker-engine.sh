#!/usr/bin/env bash
# Isolated Docker engines for minga's tests: one dockerd per NAME, with its own
# data, exec root, containerd and socket under /tmp/minga-docker/NAME, so
# several "nodes" can run side by side and be thrown away.
#
#   scripts/docker-engine.sh ensure       install docker.io and busybox-static if missing
#   scripts/docker-engine.sh start NAME   start engine NAME (or reuse it) and print its socket path
#   scripts/docker-engine.sh stop NAME    stop engine NAME (its containers stop with it)
#   scripts/docker-engine.sh purge NAME   stop it and delete all its data
#   scripts/docker-engine.sh socket NAME  print the socket path of NAME
#
# Engines run with `--bridge none --iptables=false`: they never touch the
# host's firewall or network, and containers get no network (or the host's,
# when they publish ports; see node/src/runtime/docker-spec.ts). The storage
# driver is Docker's default (overlay2 here); if the engine does not come up
# with it, it is started again with vfs. MINGA_DOCKER_STORAGE_DRIVER forces one.
set -euo pipefail
LAUNCHED=

ROOT=${MINGA_DOCKER_ROOT:-/tmp/minga-docker}
WAIT_SECONDS=${MINGA_DOCKER_WAIT:-30}

die () { echo "docker-engine: $*" >&2; exit 1; }

as_root () {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "run as root (or install sudo) to $*"; fi
}

static_busybox () {
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}

ensure () {
  local packages=()
  # ca-certificates: the engine pulls from registries over TLS
  command -v dockerd >/dev/null && command -v docker >/dev/null || packages+=(docker.io ca-certificates)
  static_busybox || packages+=(busybox-static)
  [ ${#packages[@]} -eq 0 ] && return 0
  echo "docker-engine: installing ${packages[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

paths () {
  local name=$1
  [[ $name =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$ ]] || die "engine name '$name' must be 1-32 letters, digits, '.', '_' or '-'"
  DIR=$ROOT/$name
  SOCK=$DIR/docker.sock
  PIDFILE=$DIR/docker.pid
  LOG=$DIR/dockerd.log
}

answers () {
  docker -H "unix://$SOCK" version >/dev/null 2>&1
}

running_pid () {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# launch dockerd in the background, detached from this shell; $1: storage driver or ''
launch () {
  local driver=$1 args=(
    --data-root "$DIR/root" --exec-root "$DIR/exec" --pidfile "$PIDFILE"
    -H "unix://$SOCK" --bridge none --iptables=false --ip-masq=false
  )
  [ -n "$driver" ] && args+=(--storage-driver "$driver")
  echo "--- $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$LOG"
  setsid dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null &
  LAUNCHED=$!
}

# wait until the engine answers; fails early if dockerd died
await_engine () {
  local deadline=$((SECONDS + WAIT_SECONDS))
  while [ $SECONDS -lt $deadline ]; do
    answers && return 0
    sleep 0.2
    kill -0 "$LAUNCHED" 2>/dev/null || return 1
  done
  return 1
}

start () {
  paths "$1"
  ensure
  mkdir -p "$DIR"
  if answers; then echo "$SOCK"; return 0; fi
  if pid=$(running_pid); then
    LAUNCHED=$pid
    await_engine && { echo "$SOCK"; return 0; }
    die "dockerd $pid of engine $1 runs but does not answer on $SOCK; see $LOG, or stop it with: $0 stop $1"
  fi
  rm -f "$PIDFILE" "$SOCK"
  local driver=${MINGA_DOCKER_STORAGE_DRIVER:-}
  launch "$driver"
  if ! await_engine; then
    [ -n "$driver" ] && die "engine $1 did not answer within ${WAIT_SECONDS}s with storage driver $driver; see $LOG"
    echo "docker-engine: engine $1 did not come up with the default storage driver; trying vfs (see $LOG)" >&2
    stop_engine
    rm -f "$PIDFILE" "$SOCK"
    launch vfs
    await_engine || die "engine $1 did not answer within ${WAIT_SECONDS}s, even with vfs; see $LOG"
  fi
  echo "$SOCK"
}

stop_engine () {
  local pid
  pid=$(running_pid) || pid=${LAUNCHED:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  # dockerd stops its containers (up to 15 s) and its containerd before it exits
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  echo "docker-engine: dockerd $pid did not exit in 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

stop () {
  paths "$1"
  stop_engine
  rm -f "$PIDFILE"
}

purge () {
  paths "$1"
  stop_engine
  # a killed engine may leave its container and layer mounts behind
  if [ -d "$DIR" ]; then
    awk -v dir="$DIR/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    rm -rf "$DIR"
  fi
}

case ${1:-} in
  ensure) ensure ;;
  start) [ $# -eq 2 ] || die "usage: $0 start NAME"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop NAME"; stop "$2" ;;
  purge) [ $# -eq 2 ] || die "usage: $0 purge NAME"; purge "$2" ;;
  socket) [ $# -eq 2 ] || die "usage: $0 socket NAME"; paths "$2"; echo "$SOCK" ;;
  *) die "usage: $0 ensure | start NAME | stop NAME | purge NAME | socket NAME" ;;
esac
