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
#   scripts/docker-engine.sh netns NAME   print the network namespace of a bridged engine NAME
#
# Engines run with `--bridge none --iptables=false`: they never touch the
# host's firewall or network, and containers get no network (or the host's,
# when they publish ports; see node/src/runtime/docker-spec.ts).
# With MINGA_DOCKER_BRIDGE=1, `start` runs the engine in a network namespace
# of its own (`ip netns`), where it has Docker's default bridge: containers
# get their own network and published ports bind the addresses they ask for
# (docker-proxy, still without iptables), all inside that namespace; enter it
# with `nsenter --net=$(scripts/docker-engine.sh netns NAME)`. `stop` deletes it. The storage
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
  NETNS_FILE=$DIR/netns
}

# a bridged engine's namespace: unique per engine folder, so engines of other roots never share it
netns_name () {
  echo "minga-$(printf %s "$DIR" | sha256sum | cut -c1-10)"
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
    -H "unix://$SOCK" --iptables=false --ip-masq=false
  ) prefix=()
  if [ "${MINGA_DOCKER_BRIDGE:-}" = 1 ]; then
    local ns
    ns=$(netns_name)
    ip netns list | grep -qw "$ns" || as_root ip netns add "$ns"
    as_root ip netns exec "$ns" ip link set lo up
    echo "$ns" >"$NETNS_FILE"
    # nsenter, not `ip netns exec`: that one remounts /sys, and dockerd then finds no cgroups
    prefix=(nsenter "--net=/var/run/netns/$ns")
  else
    args+=(--bridge none)
    rm -f "$NETNS_FILE"
  fi
  [ -n "$driver" ] && args+=(--storage-driver "$driver")
  echo "--- $(date -u +%FT%TZ) ${prefix[*]} dockerd ${args[*]}" >>"$LOG"
  setsid "${prefix[@]}" dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null &
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
  local bridged=0
  [ -f "$NETNS_FILE" ] && bridged=1
  if answers; then
    [ "$bridged" = "${MINGA_DOCKER_BRIDGE:-0}" ] || die "engine $1 runs $([ $bridged = 1 ] && echo with || echo without) a bridge; stop it first ($0 stop $1)"
    echo "$SOCK"; return 0
  fi
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
  drop_netns
}

drop_netns () {
  [ -f "$NETNS_FILE" ] || return 0
  as_root ip netns del "$(cat "$NETNS_FILE")" 2>/dev/null || true
  rm -f "$NETNS_FILE"
}

purge () {
  paths "$1"
  stop_engine
  # a killed engine may leave its container and layer mounts behind
  if [ -d "$DIR" ]; then
    awk -v dir="$DIR/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    drop_netns
    rm -rf "$DIR"
  fi
}

case ${1:-} in
  ensure) ensure ;;
  start) [ $# -eq 2 ] || die "usage: $0 start NAME"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop NAME"; stop "$2" ;;
  purge) [ $# -eq 2 ] || die "usage: $0 purge NAME"; purge "$2" ;;
  socket) [ $# -eq 2 ] || die "usage: $0 socket NAME"; paths "$2"; echo "$SOCK" ;;
  netns) [ $# -eq 2 ] || die "usage: $0 netns NAME"; paths "$2"; [ -f "$NETNS_FILE" ] || die "engine $2 has no network namespace (start it with MINGA_DOCKER_BRIDGE=1)"; echo "/var/run/netns/$(cat "$NETNS_FILE")" ;;
  *) die "usage: $0 ensure | start NAME | stop NAME | purge NAME | socket NAME | netns NAME" ;;
esac
