#!/usr/bin/env bash
# A local Tern cluster on this machine: three brokers, each a member of the
# Raft metadata quorum.
#
#   ./deploy/cluster.sh up          build if needed, start every broker, wait until
#                                   they listen, the quorum has a leader and every
#                                   broker is registered (unfenced)
#   ./deploy/cluster.sh down        stop every broker (as `stop N`, the Raft leader last)
#   ./deploy/cluster.sh status      per node: pid, ports, Raft role; then the leader
#   ./deploy/cluster.sh stop N      SIGTERM node N and wait until it exited: a controlled
#                                   shutdown (its partition leaderships move to other
#                                   replicas first, a Raft leader hands over)
#   ./deploy/cluster.sh kill N      kill -9 node N (crash testing)
#   ./deploy/cluster.sh start N     start node N again, same ports and data
#   ./deploy/cluster.sh logs [-f] [N]  the last lines of node N's log (all: no N;
#                                   -f follows)
#
# Node N (0, 1, 2) serves Kafka clients on 127.0.0.1:(9092+N) and the quorum on
# 127.0.0.1:(19092+N). Its configuration, data, log and pid file live in
# .cluster/ (server-N.properties, data-N/, broker-N.log, broker-N.pid); the
# claim-check fs store .cluster/claimcheck/ is shared by all nodes.
#
# Environment: TERN_BROKERS (node count, default 3), TERN_CLUSTER_DIR (state
# directory, default <repo>/.cluster), TERN_BASE_PORT (9092),
# TERN_CONTROLLER_BASE_PORT (19092), TERN_BUILD_DIR (binaries; default
# <repo>/build, built when missing or older than the sources; a directory given
# here is used as it is, never built), CLAIMCHECK_* (claim-check settings:
# CLAIMCHECK_S3_ENDPOINT=h:p becomes claimcheck.s3.endpoint=h:p).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TERN_CLUSTER_DIR:-$ROOT/.cluster}
BUILD=${TERN_BUILD_DIR:-$ROOT/build}
AUTO_BUILD=1
[ -z "${TERN_BUILD_DIR:-}" ] || AUTO_BUILD=0
BROKER_BIN="$BUILD/cmd/tern-broker"
TERN_BIN="$BUILD/cmd/tern"
TEMPLATE="$ROOT/deploy/server.properties"
LAYOUT="$STATE/cluster.layout"
START_TIMEOUT=30  # seconds for a broker to print "listening on"
LEADER_TIMEOUT=20 # seconds for the quorum to agree on a leader after `up`
STOP_TIMEOUT=30   # seconds a SIGTERM may take (a broker bounds its controlled
                  # shutdown by 2 x broker.session.timeout.ms itself)
CLI_TIMEOUT=5     # seconds for one `tern metadata-quorum` call

say() { echo "cluster: $*"; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

# The layout (node count and base ports) is recorded by the first `up`, so
# later commands and a later `up` use the same ports as the data they find.
# Explicit environment variables win; `up` refuses a layout that differs from
# the recorded one while data exists (the quorum's voters would change).
COUNT=3 BASE_PORT=9092 CTRL_BASE=19092
if [ -f "$LAYOUT" ]; then
  # shellcheck disable=SC1090
  . "$LAYOUT"
fi
REC_COUNT=$COUNT REC_BASE=$BASE_PORT REC_CTRL=$CTRL_BASE
COUNT=${TERN_BROKERS:-$COUNT}
BASE_PORT=${TERN_BASE_PORT:-$BASE_PORT}
CTRL_BASE=${TERN_CONTROLLER_BASE_PORT:-$CTRL_BASE}
case "$COUNT$BASE_PORT$CTRL_BASE" in
  *[!0-9]*) die "TERN_BROKERS, TERN_BASE_PORT and TERN_CONTROLLER_BASE_PORT must be numbers" ;;
esac
[ "$COUNT" -ge 1 ] || die "TERN_BROKERS must be at least 1"

ids() { seq 0 $((COUNT - 1)); }
port_of() { echo $((BASE_PORT + $1)); }
ctrl_port_of() { echo $((CTRL_BASE + $1)); }
pid_file() { echo "$STATE/broker-$1.pid"; }
log_file() { echo "$STATE/broker-$1.log"; }
cfg_file() { echo "$STATE/server-$1.properties"; }

valid_id() {
  case "${1:-}" in
    '' | *[!0-9]*) return 1 ;;
  esac
  [ "$1" -lt "$COUNT" ]
}

pid_of() {
  local f
  f=$(pid_file "$1")
  [ -f "$f" ] && cat "$f" || true
}

# True when node $1's pid file names a live tern-broker (a recycled pid that
# now belongs to another program does not count).
alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && running "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "tern-broker"
}

# True while pid $1 runs. A killed broker whose parent does not reap it stays
# a zombie, which `kill -0` still finds: that counts as gone.
running() {
  kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

voters() {
  local id out=""
  for id in $(ids); do out="$out${out:+,}$id@127.0.0.1:$(ctrl_port_of "$id")"; done
  echo "$out"
}

needs_build() {
  [ -x "$BROKER_BIN" ] && [ -x "$TERN_BIN" ] || return 0
  local newer
  newer=$(find "$ROOT/CMakeLists.txt" "$ROOT/broker" "$ROOT/cmd" \
    "$ROOT/raft" "$ROOT/replication" "$ROOT/claimcheck" \
    \( -name '*.c' -o -name '*.h' -o -name 'CMakeLists.txt' -o -name '*.proto' \) \
    -newer "$BROKER_BIN" -print -quit 2>/dev/null || true)
  [ -n "$newer" ]
}

build() {
  say "building into $BUILD (first time: installs packages through deploy/deps.sh)"
  if ! command -v cmake >/dev/null 2>&1 || ! pkg-config --exists libevent rdkafka 2>/dev/null; then
    "$ROOT/deploy/deps.sh"
  fi
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
  cmake --build "$BUILD" -j2 --target tern-broker tern >"$STATE/build.log" 2>&1 || {
    tail -n 30 "$STATE/build.log" >&2
    die "build failed (full log: $STATE/build.log)"
  }
}

ensure_binaries() {
  if [ "$AUTO_BUILD" = 1 ]; then
    if needs_build; then build; fi
  else
    [ -x "$BROKER_BIN" ] && [ -x "$TERN_BIN" ] ||
      die "no tern-broker/tern in $BUILD/cmd (TERN_BUILD_DIR is used as it is: build it first)"
  fi
}

check_layout() {
  if [ -f "$LAYOUT" ] && [ "$COUNT $BASE_PORT $CTRL_BASE" != "$REC_COUNT $REC_BASE $REC_CTRL" ] &&
    compgen -G "$STATE/data-*" >/dev/null; then
    die "$STATE holds a cluster of $REC_COUNT node(s) on ports $REC_BASE/$REC_CTRL, not $COUNT on" \
      "$BASE_PORT/$CTRL_BASE; run \`$0 down\` and remove $STATE to start afresh (or unset" \
      "TERN_BROKERS/TERN_BASE_PORT/TERN_CONTROLLER_BASE_PORT)"
  fi
  printf 'COUNT=%s BASE_PORT=%s CTRL_BASE=%s\n' "$COUNT" "$BASE_PORT" "$CTRL_BASE" >"$LAYOUT"
}

render_config() {
  local id=$1 out
  out=$(cfg_file "$id")
  sed -e "s|@NODE_ID@|$id|g" -e "s|@PORT@|$(port_of "$id")|g" \
    -e "s|@CONTROLLER_PORT@|$(ctrl_port_of "$id")|g" -e "s|@VOTERS@|$(voters)|g" \
    -e "s|@DATA_DIR@|$STATE/data-$id|g" -e "s|@CLAIMCHECK_DIR@|$STATE/claimcheck|g" \
    "$TEMPLATE" >"$out.tmp"
  # CLAIMCHECK_S3_ENDPOINT=... becomes claimcheck.s3.endpoint=... in the
  # rendered file (not on the command line, so a secret stays out of ps).
  # Appended last: a later line wins over the template's.
  local var
  for var in $(compgen -e | grep '^CLAIMCHECK_' || true); do
    printf '%s=%s\n' "$(echo "$var" | tr 'A-Z_' 'a-z.')" "${!var}" >>"$out.tmp"
  done
  chmod 600 "$out.tmp"
  mv "$out.tmp" "$out"
}

# Starts node $1 in the background (its own session, so a terminal's ^C does
# not reach it) and records its pid; does not wait. Prints nothing on success.
launch_one() {
  local id=$1 port cport log
  port=$(port_of "$id")
  cport=$(ctrl_port_of "$id")
  log=$(log_file "$id")
  for p in "$port" "$cport"; do
    if port_open "$p"; then
      die "port $p (node $id) is taken by another process; stop it first" \
        "(or move the cluster: TERN_BASE_PORT, TERN_CONTROLLER_BASE_PORT)"
    fi
  done
  mkdir -p "$STATE/data-$id" "$STATE/claimcheck"
  touch "$log"
  echo "=== $(date -u +%FT%TZ) start node $id" >>"$log"
  # The log offset where this start begins: wait_listening reads from there.
  stat -c %s "$log" >"$STATE/broker-$id.logoffset"
  setsid "$BROKER_BIN" "$(cfg_file "$id")" </dev/null >>"$log" 2>&1 &
  echo $! >"$(pid_file "$id")"
}

# Waits until node $1 printed its "listening on" line since its launch.
wait_listening() {
  local id=$1 log offset deadline
  log=$(log_file "$id")
  offset=$(cat "$STATE/broker-$id.logoffset" 2>/dev/null || echo 0)
  deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if tail -c +$((offset + 1)) "$log" | grep -q "listening on"; then
      say "node $id up: pid $(pid_of "$id"), 127.0.0.1:$(port_of "$id"), controller 127.0.0.1:$(ctrl_port_of "$id")"
      return 0
    fi
    if ! alive "$id"; then
      tail -c +$((offset + 1)) "$log" | tail -n 20 >&2
      rm -f "$(pid_file "$id")"
      die "node $id exited during startup (log: $log)"
    fi
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "node $id did not listen within ${START_TIMEOUT}s (log: $log)"
}

# Waits until node $1 is registered and unfenced with the controller since
# its launch ("is unfenced" in its log): before that, topics with a
# replication factor counting it cannot be created.
wait_unfenced() {
  local id=$1 log offset deadline
  log=$(log_file "$id")
  offset=$(cat "$STATE/broker-$id.logoffset" 2>/dev/null || echo 0)
  deadline=$((SECONDS + LEADER_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    tail -c +$((offset + 1)) "$log" | grep -q "is unfenced" && return 0
    alive "$id" || return 1
    sleep 0.1
  done
  say "node $id did not register with the controller within ${LEADER_TIMEOUT}s (log: $log)" >&2
  return 1
}

# --- the quorum as the nodes see it ---------------------------------------

# `tern metadata-quorum describe --status` of node $1: prints "LEADER EPOCH",
# nothing when the node does not answer.
node_view() {
  timeout "$CLI_TIMEOUT" "$TERN_BIN" metadata-quorum --bootstrap-server "127.0.0.1:$(port_of "$1")" \
    describe --status 2>/dev/null |
    awk -F: '$1 == "LeaderId" { l = $2 } $1 == "LeaderEpoch" { e = $2 }
             END { gsub(/ /, "", l); gsub(/ /, "", e); if (l != "") print l, e }' || true
}

# `describe --replication` asked of node $1: "NODE LAG STATUS" rows.
replication_rows() {
  timeout "$CLI_TIMEOUT" "$TERN_BIN" metadata-quorum --bootstrap-server "127.0.0.1:$(port_of "$1")" \
    describe --replication 2>/dev/null | awk 'NR > 1 && NF >= 6 { print $1, $3, $6 }' || true
}

# Fills VIEW_LEADER[id], VIEW_EPOCH[id] for every live node and sets
# LEADER/EPOCH to the leader all of them agree on (LEADER=-1 when they do not,
# or when there is none).
declare -A VIEW_LEADER VIEW_EPOCH
LEADER=-1 EPOCH=-1
read_views() {
  local id view first=1 agree=1
  LEADER=-1 EPOCH=-1
  VIEW_LEADER=() VIEW_EPOCH=()
  for id in $(ids); do
    alive "$id" || continue
    view=$(node_view "$id")
    if [ -z "$view" ]; then
      agree=0
      continue
    fi
    VIEW_LEADER[$id]=${view% *}
    VIEW_EPOCH[$id]=${view#* }
    if [ $first = 1 ]; then
      LEADER=${VIEW_LEADER[$id]} EPOCH=${VIEW_EPOCH[$id]} first=0
    elif [ "${VIEW_LEADER[$id]} ${VIEW_EPOCH[$id]}" != "$LEADER $EPOCH" ]; then
      agree=0
    fi
  done
  if [ $agree = 0 ] || [ $first = 1 ]; then LEADER=-1 EPOCH=-1; fi
  return 0
}

# Waits until every live node names the same live leader.
wait_leader() {
  local deadline=$((SECONDS + LEADER_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    read_views
    if [ "$LEADER" -ge 0 ] && valid_id "$LEADER" && alive "$LEADER"; then
      say "raft leader: node $LEADER (epoch $EPOCH)"
      return 0
    fi
    sleep 0.2
  done
  say "no Raft leader that every live node agrees on after ${LEADER_TIMEOUT}s (see: $0 status)" >&2
  return 1
}

# --- commands ------------------------------------------------------------

cmd_up() {
  mkdir -p "$STATE"
  check_layout
  ensure_binaries
  local id started=()
  for id in $(ids); do
    if alive "$id"; then
      say "node $id already running (pid $(pid_of "$id"), port $(port_of "$id"))"
      continue
    fi
    render_config "$id"
    launch_one "$id"
    started+=("$id")
  done
  # Started together, waited for together: no node waits for the others' startup.
  for id in "${started[@]}"; do wait_listening "$id"; done
  local rc=0
  wait_leader || rc=1
  for id in "${started[@]}"; do wait_unfenced "$id" || rc=1; done
  say "bootstrap servers: $(for id in $(ids); do printf '127.0.0.1:%s,' "$(port_of "$id")"; done | sed 's/,$//')"
  say "state: $STATE (server-N.properties, data-N/, broker-N.log)"
  say "try: $TERN_BIN topics --bootstrap-server 127.0.0.1:$BASE_PORT --list"
  return $rc
}

cmd_start() {
  local id=${1:-}
  valid_id "$id" || die "usage: cluster.sh start N (N in 0..$((COUNT - 1)))"
  mkdir -p "$STATE"
  check_layout
  ensure_binaries
  if alive "$id"; then
    say "node $id already running (pid $(pid_of "$id"), port $(port_of "$id"))"
    return 0
  fi
  # Same configuration as before (same ports, same data); rendered only when
  # this node never ran here.
  [ -f "$(cfg_file "$id")" ] || render_config "$id"
  launch_one "$id"
  wait_listening "$id"
}

# SIGTERM to node $1, then wait until it exited; kill -9 after STOP_TIMEOUT.
# The broker asks the active controller to move its leaderships, waits
# (bounded) until the new leaders serve, closes its logs cleanly and, as Raft
# leader, hands leadership over. Prints one line; 1 when it had to be killed.
stop_one() {
  local id=$1 pid log offset t0 ms outcome
  pid=$(pid_of "$id")
  log=$(log_file "$id")
  offset=$(stat -c %s "$log" 2>/dev/null || echo 0)
  t0=$(date +%s%N)
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while running "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
  if running "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    while running "$pid"; do sleep 0.02; done
    rm -f "$(pid_file "$id")"
    echo "=== $(date -u +%FT%TZ) node $id ignored SIGTERM for ${STOP_TIMEOUT}s: killed (kill -9)" >>"$log"
    say "node $id (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killed it"
    return 1
  fi
  ms=$((($(date +%s%N) - t0) / 1000000))
  rm -f "$(pid_file "$id")"
  # How the controlled shutdown went, in the broker's own words.
  outcome=$(tail -c +$((offset + 1)) "$log" 2>/dev/null |
    grep -o 'controlled shutdown [a-z].*\|no controlled shutdown needed' | tail -n 1 || true)
  echo "=== $(date -u +%FT%TZ) node $id stopped (SIGTERM)" >>"$log"
  say "node $id stopped in $ms ms${outcome:+ ($outcome)}"
}

cmd_stop() {
  local id=${1:-}
  valid_id "$id" || die "usage: cluster.sh stop N (N in 0..$((COUNT - 1)))"
  alive "$id" || die "node $id is not running"
  stop_one "$id" || exit 1
  say "\`$0 start $id\` starts it again"
}

# One node after the other, the Raft leader last: each one's leaderships
# move to nodes still running (all at once, the last ones would wait for a
# quorum already gone), and Raft leadership is handed over once at most.
# The last node has nobody to hand anything to and stops at once.
cmd_down() {
  [ -d "$STATE" ] || {
    say "nothing running"
    return 0
  }
  local f id order=()
  for f in "$STATE"/broker-*.pid; do
    [ -e "$f" ] || continue
    id=$(basename "$f" .pid)
    id=${id#broker-}
    if alive "$id"; then
      order+=("$id")
    else
      rm -f "$f"
    fi
  done
  [ ${#order[@]} -gt 0 ] || {
    say "nothing running"
    return 0
  }
  if [ ${#order[@]} -gt 1 ]; then
    read_views
    local rest=()
    for id in "${order[@]}"; do [ "$id" = "$LEADER" ] || rest+=("$id"); done
    [ ${#rest[@]} -eq ${#order[@]} ] || rest+=("$LEADER")
    order=("${rest[@]}")
  fi
  for id in "${order[@]}"; do stop_one "$id" || true; done
}

# One line per node, then the leader. Exit 0 when every node runs and all
# agree on a leader, else 1.
cmd_status() {
  [ -f "$LAYOUT" ] || {
    say "no cluster in $STATE (run: $0 up)"
    return 1
  }
  local id pid role lag sees rc=0 live=0
  read_views
  # Roles and lags as the leader sees them (the only node that knows them).
  declare -A ROLE LAG
  if [ "$LEADER" -ge 0 ] && valid_id "$LEADER" && alive "$LEADER"; then
    local n l s
    while read -r n l s; do
      ROLE[$n]=$s LAG[$n]=$l
    done < <(replication_rows "$LEADER")
  fi
  printf '%-5s %-8s %-6s %-11s %-10s %-4s %s\n' NODE PID PORT CONTROLLER ROLE LAG SEES-LEADER
  for id in $(ids); do
    pid=$(pid_of "$id")
    if alive "$id"; then
      live=$((live + 1))
      if [ -n "${VIEW_LEADER[$id]:-}" ]; then
        sees="${VIEW_LEADER[$id]}@${VIEW_EPOCH[$id]}"
        # The leader's table when it answered, else the node's own view.
        role=${ROLE[$id]:-Follower}
        [ "${VIEW_LEADER[$id]}" = "$id" ] && role=Leader
        [ "${VIEW_LEADER[$id]}" -lt 0 ] && role=NoLeader
      else
        sees=- role=NoAnswer rc=1
      fi
      lag=${LAG[$id]:--}
    else
      pid=down role=- lag=- sees=- rc=1
    fi
    printf '%-5s %-8s %-6s %-11s %-10s %-4s %s\n' "$id" "$pid" "$(port_of "$id")" "$(ctrl_port_of "$id")" \
      "$role" "$lag" "$sees"
  done
  if [ "$live" -eq 0 ]; then
    echo "raft leader: none (no node running)"
    rc=1
  elif [ "$LEADER" -ge 0 ] && ! alive "$LEADER"; then
    # Seen right after the leader died: the others have not timed out yet.
    echo "raft leader: node $LEADER (epoch $EPOCH) per the live nodes, but it is down; an election follows"
    rc=1
  elif [ "$LEADER" -ge 0 ]; then
    echo "raft leader: node $LEADER (epoch $EPOCH), agreed by $live live node(s) of $COUNT"
  else
    echo "raft leader: none agreed (see SEES-LEADER: leader@epoch as each node sees it)"
    rc=1
  fi
  return $rc
}

cmd_logs() {
  local follow=0 id="" a
  for a in "$@"; do
    case "$a" in
      -f) follow=1 ;;
      *)
        valid_id "$a" || die "usage: cluster.sh logs [-f] [N]"
        id=$a
        ;;
    esac
  done
  local files=()
  if [ -n "$id" ]; then
    files=("$(log_file "$id")")
  else
    for id in $(ids); do [ -e "$(log_file "$id")" ] && files+=("$(log_file "$id")"); done
  fi
  [ ${#files[@]} -gt 0 ] && [ -e "${files[0]}" ] || die "no logs yet"
  if [ $follow = 1 ]; then
    exec tail -n 20 -F "${files[@]}"
  fi
  tail -n 50 "${files[@]}"
}

cmd_kill() {
  local id=${1:-}
  valid_id "$id" || die "usage: cluster.sh kill N (N in 0..$((COUNT - 1)))"
  alive "$id" || die "node $id is not running"
  local pid
  pid=$(pid_of "$id")
  kill -KILL "$pid"
  while running "$pid"; do sleep 0.02; done
  rm -f "$(pid_file "$id")"
  echo "=== $(date -u +%FT%TZ) node $id killed (kill -9)" >>"$(log_file "$id")"
  say "node $id killed (kill -9); \`$0 start $id\` restarts it"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  start)
    shift
    cmd_start "$@"
    ;;
  logs)
    shift
    cmd_logs "$@"
    ;;
  stop)
    shift
    cmd_stop "$@"
    ;;
  kill)
    shift
    cmd_kill "$@"
    ;;
  *)
    # The header comment above is the usage.
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
