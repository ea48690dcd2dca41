#!/usr/bin/env bash
# A local Tern cluster on this machine.
#
#   ./deploy/cluster.sh up        build if needed, start the brokers, wait until they listen
#   ./deploy/cluster.sh down      SIGTERM every broker and wait for a clean shutdown
#   ./deploy/cluster.sh status    pid, port and health of each broker
#   ./deploy/cluster.sh logs [-f] the last lines of each broker's log (-f follows)
#   ./deploy/cluster.sh kill ID   kill -9 one broker (crash testing)
#
# Broker N listens on 127.0.0.1:(9092+N); its configuration, data, log and pid
# file live in .cluster/ (server-N.properties, data-N/, broker-N.log,
# broker-N.pid). TERN_BROKERS sets how many brokers `up` starts (default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/.cluster"
BUILD="$ROOT/build"
BROKER_BIN="$BUILD/cmd/tern-broker"
TEMPLATE="$ROOT/deploy/server.properties"
BASE_PORT=9092
COUNT=${TERN_BROKERS:-1}
START_TIMEOUT=30 # seconds
STOP_TIMEOUT=30  # seconds

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

ids() { seq 0 $((COUNT - 1)); }
port_of() { echo $((BASE_PORT + $1)); }
pid_file() { echo "$STATE/broker-$1.pid"; }
log_file() { echo "$STATE/broker-$1.log"; }

pid_of() {
  local f
  f=$(pid_file "$1")
  [ -f "$f" ] && cat "$f" || true
}

alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

needs_build() {
  [ -x "$BROKER_BIN" ] && [ -x "$BUILD/cmd/tern" ] || return 0
  local newer
  newer=$(find "$ROOT/CMakeLists.txt" "$ROOT/broker" "$ROOT/cmd" \
    "$ROOT/raft" "$ROOT/replication" "$ROOT/claimcheck" \
    \( -name '*.c' -o -name '*.h' -o -name 'CMakeLists.txt' -o -name '*.proto' \) \
    -newer "$BROKER_BIN" -print -quit 2>/dev/null || true)
  [ -n "$newer" ]
}

build() {
  say "building into build/ (first time: installs packages through deploy/deps.sh)"
  if ! command -v cmake >/dev/null 2>&1 || ! pkg-config --exists libevent rdkafka 2>/dev/null; then
    "$ROOT/deploy/deps.sh"
  fi
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
  cmake --build "$BUILD" -j2 --target tern-broker tern >"$STATE/build.log" 2>&1 || {
    tail -n 30 "$STATE/build.log" >&2
    die "build failed (full log: .cluster/build.log)"
  }
}

render_config() {
  local id=$1 out="$STATE/server-$1.properties"
  sed -e "s|@NODE_ID@|$id|g" -e "s|@PORT@|$(port_of "$id")|g" -e "s|@DATA_DIR@|$STATE/data-$id|g" \
    "$TEMPLATE" >"$out"
  # CLAIMCHECK_S3_ENDPOINT=... becomes claimcheck.s3.endpoint=... in the
  # rendered file (not on the command line, so a secret stays out of ps).
  local var
  for var in $(compgen -e | grep '^CLAIMCHECK_' || true); do
    printf '%s=%s\n' "$(echo "$var" | tr 'A-Z_' 'a-z.')" "${!var}" >>"$out"
  done
  chmod 600 "$out"
  echo "$out"
}

start_one() {
  local id=$1 cfg log port offset
  port=$(port_of "$id")
  log=$(log_file "$id")
  if alive "$id"; then
    say "broker $id already running (pid $(pid_of "$id"), port $port)"
    return 0
  fi
  if port_open "$port"; then
    die "port $port is taken by another process; stop it first"
  fi
  cfg=$(render_config "$id")
  mkdir -p "$STATE/data-$id"
  touch "$log"
  offset=$(stat -c %s "$log")
  echo "=== $(date -u +%FT%TZ) start broker $id" >>"$log"
  setsid "$BROKER_BIN" "$cfg" </dev/null >>"$log" 2>&1 &
  echo $! >"$(pid_file "$id")"
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if tail -c +$((offset + 1)) "$log" | grep -q "listening on"; then
      say "broker $id up: pid $(pid_of "$id"), 127.0.0.1:$port"
      return 0
    fi
    if ! alive "$id"; then
      tail -n 20 "$log" >&2
      rm -f "$(pid_file "$id")"
      die "broker $id exited during startup (log: $log)"
    fi
    sleep 0.2
  done
  tail -n 20 "$log" >&2
  die "broker $id did not listen within ${START_TIMEOUT}s (log: $log)"
}

stop_one() {
  local id=$1 pid
  pid=$(pid_of "$id")
  if [ -z "$pid" ]; then
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "broker $id (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    else
      say "broker $id stopped"
    fi
  fi
  rm -f "$(pid_file "$id")"
}

cmd_up() {
  mkdir -p "$STATE"
  if needs_build; then build; fi
  for id in $(ids); do start_one "$id"; done
  say "bootstrap servers: $(for id in $(ids); do printf '127.0.0.1:%s ' "$(port_of "$id")"; done)"
  say "data: .cluster/data-N/   logs: .cluster/broker-N.log   config: .cluster/server-N.properties"
  say "try: build/cmd/tern topics --bootstrap-server 127.0.0.1:$BASE_PORT --list"
}

cmd_down() {
  [ -d "$STATE" ] || { say "nothing running"; return 0; }
  local f id
  for f in "$STATE"/broker-*.pid; do
    [ -e "$f" ] || continue
    id=$(basename "$f" .pid)
    stop_one "${id#broker-}"
  done
}

cmd_status() {
  [ -d "$STATE" ] || { say "no cluster (run: ./deploy/cluster.sh up)"; return 1; }
  local f id pid port rc=0
  local seen=0
  for f in "$STATE"/server-*.properties; do
    [ -e "$f" ] || continue
    seen=1
    id=$(basename "$f" .properties)
    id=${id#server-}
    pid=$(pid_of "$id")
    port=$(port_of "$id")
    if alive "$id"; then
      if port_open "$port"; then
        echo "broker $id: pid $pid, port $port, up"
      else
        echo "broker $id: pid $pid, port $port, running but not accepting connections"
        rc=1
      fi
    else
      echo "broker $id: ${pid:+pid $pid, }port $port, down"
      rc=1
    fi
  done
  [ $seen -eq 1 ] || { say "no brokers configured"; rc=1; }
  return $rc
}

cmd_logs() {
  local files=("$STATE"/broker-*.log)
  [ -e "${files[0]}" ] || die "no logs yet"
  if [ "${1:-}" = "-f" ]; then
    exec tail -n 20 -F "${files[@]}"
  fi
  tail -n 50 "${files[@]}"
}

cmd_kill() {
  local id=${1:-}
  [ -n "$id" ] || die "usage: cluster.sh kill ID"
  alive "$id" || die "broker $id is not running"
  kill -KILL "$(pid_of "$id")"
  rm -f "$(pid_file "$id")"
  say "broker $id killed (kill -9); ./deploy/cluster.sh up restarts it"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  kill) shift; cmd_kill "$@" ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
