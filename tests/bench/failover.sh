#!/usr/bin/env bash
# Failover benchmark: how long a three-broker cluster is unavailable after a
# kill -9.
#
#   tests/bench/failover.sh
#
# Builds nothing: uses the binaries in $TERN_BUILD_DIR (or $TERN_BUILD; default
# build/, the release build of tests/run.sh). Starts its own cluster with
# deploy/cluster.sh (state in a mktemp dir, free ports; stopped and removed on
# exit) and the timeouts of deploy/server.properties, then:
#
#  (a) $REPS times: finds the Raft leader, kill -9s it and measures until the
#      survivors agree on a new Raft leader (`tern metadata-quorum`), and until
#      a CreateTopics of a topic with replication factor 1 (one request on a
#      raw socket, retried every $POLL_MS against the survivors in turn)
#      succeeds; restarts the node and measures until it is a Follower with
#      lag 0 again.
#  (b) $REPS times: creates a topic with replication factor 3 and one
#      partition, finds its leader (`tern topics --describe`), kill -9s that
#      broker and measures until describe names another leader; restarts it.
#      Needs topics placed by the controller: until then CreateTopics refuses
#      replication factor 3 and (b) is reported as skipped.
#
# Prints the median and the max of each measure in ms, and the timeouts used.
# The clock starts right after kill -9 returns; each time includes up to one
# polling interval, plus for the Raft leader the `tern metadata-quorum` calls of
# one round (~10 ms each).
#
# Environment: REPS (10), POLL_MS (20), FAILOVER_TIMEOUT (seconds one
# measurement may take; past it that part stops and the exit status is 1;
# 30), TERN_BUILD_DIR/TERN_BUILD.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TERN_BUILD_DIR:-${TERN_BUILD:-$ROOT/build}}
REPS=${REPS:-10}
POLL_MS=${POLL_MS:-20}
FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT:-30}
NODES=3
CLUSTER=$ROOT/deploy/cluster.sh
TERN=$BUILD/cmd/tern
POLL_S=$(awk -v ms="$POLL_MS" 'BEGIN { printf "%.3f", ms / 1000 }')

die() {
	echo "failover.sh: $*" >&2
	exit 1
}
note() { echo "  $*" >&2; }
[[ -x $BUILD/cmd/tern-broker ]] || die "no $BUILD/cmd/tern-broker (build first, or set TERN_BUILD_DIR)"
[[ -x $TERN ]] || die "no $TERN (build first, or set TERN_BUILD_DIR)"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive number"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-failover.XXXXXX")
STATE=$TMP/cluster
cleanup() {
	"$CLUSTER" down >/dev/null 2>&1 || true
	# Whatever `down` did not stop (a node killed between its checks).
	local f pid
	for f in "$STATE"/broker-*.pid; do
		[[ -e $f ]] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null && grep -q tern-broker "/proc/$pid/cmdline" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	if [[ -n ${KEEP_TMP:-} ]]; then echo "failover.sh: state kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two runs of $NODES consecutive free ports (Kafka, controller) below the
# ephemeral range.
read -r BASE CTRL < <(/usr/bin/python3 - "$NODES" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(ports):
    socks = []
    try:
        for p in ports:
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p)); socks.append(s)
        return True
    except OSError:
        return False
    finally:
        for s in socks: s.close()
for _ in range(500):
    b = random.randrange(20000, 31000); c = b + n + random.randrange(0, 500)
    if free(list(range(b, b + n)) + list(range(c, c + n))):
        print(b, c); break
EOF
)
[[ -n ${BASE:-} ]] || die "no free ports found"

export TERN_CLUSTER_DIR=$STATE TERN_BUILD_DIR=$BUILD TERN_BROKERS=$NODES
export TERN_BASE_PORT=$BASE TERN_CONTROLLER_BASE_PORT=$CTRL
# A CLI call against a dead or busy broker gives up quickly; the loops retry.
export TERN_CONNECT_TIMEOUT_MS=1000

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}
port_of() { echo $((BASE + $1)); }
pid_of() { cat "$STATE/broker-$1.pid"; }
bootstrap_except() { # the Kafka addresses of every node but $1
	local id out=""
	for ((id = 0; id < NODES; id++)); do
		[[ $id == "$1" ]] || out+="${out:+,}127.0.0.1:$(port_of "$id")"
	done
	echo "$out"
}

# "LEADER EPOCH" as node $1 sees the quorum; nothing when it does not answer.
quorum_view() {
	timeout 3 "$TERN" metadata-quorum --bootstrap-server "127.0.0.1:$(port_of "$1")" describe --status 2>/dev/null |
		awk -F: '$1 == "LeaderId" { l = $2 } $1 == "LeaderEpoch" { e = $2 }
		         END { gsub(/ /, "", l); gsub(/ /, "", e); if (l != "") print l, e }' || true
}

# The leader every node but $1 (-1: every node) agrees on, when it is not $1.
agreed_leader() {
	local skip=$1 id view first=""
	for ((id = 0; id < NODES; id++)); do
		[[ $id == "$skip" ]] && continue
		view=$(quorum_view "$id")
		[[ -n $view ]] || return 0
		if [[ -z $first ]]; then first=$view; elif [[ $view != "$first" ]]; then return 0; fi
	done
	local leader=${first% *}
	[[ $leader -ge 0 && $leader != "$skip" ]] && echo "$leader"
	return 0
}

wait_leader() { # skip -> leader id
	local skip=$1 deadline=$((SECONDS + FAILOVER_TIMEOUT)) leader
	while ((SECONDS < deadline)); do
		leader=$(agreed_leader "$skip")
		[[ -n $leader ]] && {
			echo "$leader"
			return 0
		}
		sleep "$POLL_S"
	done
	die "no agreed Raft leader within ${FAILOVER_TIMEOUT}s"
}

# Restarts node $1 and waits until the Raft leader lists it as a Follower
# with lag 0 that fetched after the restart; prints the ms that took.
restart_and_catch_up() {
	local id=$1 t0 deadline leader row
	t0=$(now_ms)
	"$CLUSTER" start "$id" >/dev/null
	deadline=$((SECONDS + FAILOVER_TIMEOUT))
	while ((SECONDS < deadline)); do
		leader=$(agreed_leader -1)
		if [[ -n $leader ]]; then
			row=$(timeout 3 "$TERN" metadata-quorum --bootstrap-server "127.0.0.1:$(port_of "$leader")" \
				describe --replication 2>/dev/null | awk -v id="$id" 'NR > 1 && $1 == id { print $3, $4, $6 }' || true)
			# "LAG LAST_FETCH STATUS"
			if [[ -n $row ]]; then
				read -r lag fetched status <<<"$row"
				if [[ $status == Follower && $lag == 0 && $fetched -ge $t0 ]]; then
					echo $(($(now_ms) - t0))
					return 0
				fi
			fi
		fi
		sleep "$POLL_S"
	done
	die "node $id did not catch up within ${FAILOVER_TIMEOUT}s after its restart"
}

# kill -9 of node $1; prints the time right after the kill (ms).
kill_node() {
	local pid
	pid=$(pid_of "$1")
	kill -KILL "$pid"
	now_ms
}

# A CreateTopics client on a raw socket (CreateTopics v4), so each attempt
# costs one round trip and no client library's controller discovery or
# backoff is measured: create TOPIC RF on the servers of a comma-separated
# list, round robin, every POLL_MS, until it succeeds (or TOPIC_ALREADY_EXISTS:
# an earlier attempt that timed out here may have created it). Prints the wall
# clock of the success in ms. INVALID_REPLICATION_FACTOR is retried too (a new
# controller may not count the brokers yet), for at most GIVE_UP_S seconds
# when that is above 0: then exit 3 with the broker's message on stderr. Exit
# 1 when it never succeeded. With GO (a path) it starts, creates GO.ready and
# waits for GO to exist before the first attempt, so that the interpreter's
# start is not measured.
CREATE_PY=$(cat <<'EOF_PY'
import os, socket, struct, sys, time
servers, topic, rf = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
poll, deadline = float(sys.argv[4]) / 1000, time.time() + float(sys.argv[5])
give_up_38, go = float(sys.argv[6]), sys.argv[7]
if go:  # started ahead: say so, then wait for the go file (the kill)
    open(go + ".ready", "w").close()
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.001)
    deadline = time.time() + float(sys.argv[5])
start = time.time()
def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b
def create(server, corr):
    host, port = server.rsplit(":", 1)
    body = struct.pack(">i", 1) + kstr(topic) + struct.pack(">ihii", 1, rf, 0, 0) + struct.pack(">i?", 1000, False)
    msg = struct.pack(">hhi", 19, 4, corr) + kstr("failover-bench") + body
    with socket.create_connection((host, int(port)), timeout=1.5) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
    pos = 4 + 4 + 4 + 4  # size, correlation id, throttle_time_ms, topic count
    (n,) = struct.unpack_from(">h", buf, pos)
    pos += 2 + n
    err, n = struct.unpack_from(">hh", buf, pos)
    return err, buf[pos + 4:pos + 4 + n].decode(errors="replace") if n >= 0 else ""
last, i = "no attempt", 0
while time.time() < deadline:
    i += 1
    try:
        err, text = create(servers[i % len(servers)], i)
    except (OSError, struct.error) as e:
        last = "%s: %s" % (servers[i % len(servers)], e)
    else:
        if err in (0, 36):
            print(int(time.time() * 1000))
            sys.exit(0)
        last = "%s: error %d %s" % (servers[i % len(servers)], err, text)
        if err == 38 and give_up_38 > 0 and time.time() - start > give_up_38:
            print("INVALID_REPLICATION_FACTOR: %s" % text, file=sys.stderr)
            sys.exit(3)
    time.sleep(poll)
print("CreateTopics %s failed for %ss, last: %s" % (topic, sys.argv[5], last), file=sys.stderr)
sys.exit(1)
EOF_PY
)
create_until_ok() { # servers topic rf [give_up_s [go]] -> ms of the success
	/usr/bin/python3 -S -c "$CREATE_PY" "$1" "$2" "$3" "$POLL_MS" "$FAILOVER_TIMEOUT" "${4:-0}" "${5:-}"
}

# Partition 0's leader of topic $2 as the survivors of $1 describe it.
partition_leader() {
	timeout 3 "$TERN" topics --bootstrap-server "$(bootstrap_except "$1")" --describe --topic "$2" 2>/dev/null |
		awk '/Partition: 0/ { for (i = 1; i <= NF; i++) if ($i == "Leader:") print $(i + 1) }' | head -n 1 || true
}

# The median of the numbers on stdin ("-" when there are none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
maxof() { sort -g | tail -n 1 | grep . || echo -; }

declare -A SAMPLES
record() { SAMPLES[$1]+="$2 "; }
report_line() { # key label
	local vals=${SAMPLES[$1]:-}
	printf '  %-46s %8s %8s %4s\n' "$2" "$(tr ' ' '\n' <<<"$vals" | grep . | median)" \
		"$(tr ' ' '\n' <<<"$vals" | grep . | maxof)" "$(wc -w <<<"$vals")"
}

echo "failover.sh: starting $NODES brokers on 127.0.0.1:$BASE-$((BASE + NODES - 1))," \
	"controllers on $CTRL-$((CTRL + NODES - 1))" >&2
"$CLUSTER" up >"$TMP/up.log" 2>&1 || {
	cat "$TMP/up.log" >&2
	die "cluster.sh up failed"
}
timeouts=$(grep -E '^(controller\.quorum\.(election|fetch)\.timeout\.ms|broker\.(heartbeat\.interval|session\.timeout)\.ms)=' \
	"$STATE/server-0.properties" | tr '\n' ' ')

# A part that cannot go on (a timeout: the cluster did not recover) stops
# there; the summary still shows the rounds it measured, and the exit status
# is 1. Each part starts with every node running.
stopped_a="" stopped_b="" skipped_b=""
all_up() { "$CLUSTER" up >"$TMP/up.log" 2>&1 || cat "$TMP/up.log" >&2; }

# --- (a) the Raft leader dies -----------------------------------------------
echo "(a) kill -9 of the Raft leader, $REPS times" >&2
for ((k = 1; k <= REPS; k++)); do
	leader=$(wait_leader -1) || {
		stopped_a="round $k: no leader before the kill"
		break
	}
	# The election and CreateTopics are polled side by side; the CreateTopics
	# poller starts before the kill and begins at its go file.
	go=$TMP/go-a-$k
	create_until_ok "$(bootstrap_except "$leader")" "failover-a-$k" 1 0 "$go" >"$TMP/create.out" 2>"$TMP/create.err" &
	creator=$!
	while [[ ! -e $go.ready ]] && kill -0 "$creator" 2>/dev/null; do sleep 0.005; done
	t0=$(kill_node "$leader")
	: >"$go"
	new_leader=$(wait_leader "$leader") || new_leader=""
	t_elect=$(now_ms)
	if ! wait "$creator"; then
		stopped_a="round $k: $(cat "$TMP/create.err")"
		break
	fi
	[[ -n $new_leader ]] || {
		stopped_a="round $k: the survivors of node $leader agreed on no leader in ${FAILOVER_TIMEOUT}s"
		break
	}
	t_create=$(cat "$TMP/create.out")
	record elect $((t_elect - t0))
	record create $((t_create - t0))
	back=$(restart_and_catch_up "$leader") || {
		stopped_a="round $k: node $leader did not catch up after its restart"
		break
	}
	record rejoin "$back"
	note "round $k: leader $leader killed; new leader $new_leader after $((t_elect - t0)) ms," \
		"CreateTopics ok after $((t_create - t0)) ms; node $leader caught up $back ms after its restart"
done
[[ -z $stopped_a ]] || note "(a) stopped at $stopped_a"

# --- (b) a partition leader dies --------------------------------------------
echo "(b) kill -9 of a partition leader (replication factor 3), $REPS times" >&2
all_up
for ((k = 1; k <= REPS; k++)); do
	topic=failover-b-$k
	rc=0
	# Brokers that place topics alone refuse at once and for good; a controller
	# may count a restarted broker only after it registered again: 15 s tell.
	create_until_ok "$(bootstrap_except -1)" "$topic" 3 $((k == 1 ? 15 : 0)) >/dev/null 2>"$TMP/create.err" || rc=$?
	if ((rc == 3 && k == 1)); then
		# Today's brokers: every broker places topics alone.
		skipped_b="CreateTopics refuses replication factor 3 ($(head -c 200 "$TMP/create.err"))"
		break
	fi
	if ((rc != 0)); then
		stopped_b="round $k: $(cat "$TMP/create.err")"
		break
	fi
	deadline=$((SECONDS + FAILOVER_TIMEOUT))
	pleader=""
	while ((SECONDS < deadline)); do
		pleader=$(partition_leader -1 "$topic")
		[[ $pleader =~ ^[0-9]+$ ]] && break
		sleep "$POLL_S"
	done
	if ! [[ $pleader =~ ^[0-9]+$ ]]; then
		stopped_b="round $k: $topic had no leader after ${FAILOVER_TIMEOUT}s"
		break
	fi
	t0=$(kill_node "$pleader")
	deadline=$((SECONDS + FAILOVER_TIMEOUT))
	moved=""
	while ((SECONDS < deadline)); do
		now=$(partition_leader "$pleader" "$topic")
		if [[ $now =~ ^[0-9]+$ && $now != "$pleader" ]]; then
			moved=$(now_ms)
			break
		fi
		sleep "$POLL_S"
	done
	if [[ -z $moved ]]; then
		stopped_b="round $k: $topic kept no other leader than $pleader for ${FAILOVER_TIMEOUT}s"
		break
	fi
	record partition $((moved - t0))
	back=$(restart_and_catch_up "$pleader") || {
		stopped_b="round $k: node $pleader did not catch up after its restart"
		break
	}
	note "round $k: $topic leader $pleader killed; leader $now after $((moved - t0)) ms;" \
		"node $pleader caught up $back ms after its restart"
done
[[ -z $stopped_b ]] || note "(b) stopped at $stopped_b"

echo
echo "failover: $NODES brokers, REPS=$REPS, poll every ${POLL_MS} ms; $timeouts"
printf '  %-46s %8s %8s %4s\n' "" "median" "max" "n"
report_line elect "(a) Raft leader killed -> new leader agreed"
report_line create "(a) Raft leader killed -> CreateTopics ok"
report_line rejoin "(a) killed node restarted -> Follower, lag 0"
[[ -z $stopped_a ]] || printf '  %s\n' "(a) stopped at $stopped_a"
if [[ -n $skipped_b ]]; then
	printf '  %-46s %s\n' "(b) partition leader killed -> new leader" "skipped: $skipped_b"
else
	report_line partition "(b) partition leader killed -> new leader"
	[[ -z $stopped_b ]] || printf '  %s\n' "(b) stopped at $stopped_b"
fi
echo "  (ms)"
[[ -z $stopped_a && -z $stopped_b ]]
