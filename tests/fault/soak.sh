#!/usr/bin/env bash
# Soak test of replicated partitions: numbered records with acks=all while the
# partition leader is kill -9'd again and again, then every acknowledged
# record is checked to be in the log exactly once and the replicas' logs
# byte-identical (tests/fault/checker.py does the work; see its header).
#
#   tests/fault/soak.sh                  100 kills
#   KILLS=0 MINUTES=30 tests/fault/soak.sh   kill for 30 minutes
#
# Builds nothing: uses the binaries in $TERN_BUILD_DIR (default build/).
# Starts its own three-node cluster with deploy/cluster.sh (state in a mktemp
# dir, free ports) and stops it at exit, also on failure or ^C.
#
# Environment:
#   KILLS (100)          stop after this many kills (0: no limit)
#   MINUTES (0)          stop after this long (0: no limit); the first limit
#                        reached ends the run
#   RATE (500)           records per second
#   RETRIES (0)          librdkafka retries; above 0 a resent batch may
#                        legitimately be in the log twice (the producer is not
#                        idempotent), so duplicates are reported, not failed
#   BROKER_PROPS         server.properties lines (k=v, space-separated) added to
#                        every node's rendered configuration; empty keeps the
#                        template's. Default: replica.lag.time.max.ms=3000 (the
#                        leader re-examines its ISR every half of it: Kafka's
#                        30 s would make each round wait ~15 s for the restarted
#                        broker to rejoin), replica.fetch.min.bytes=1000000 and
#                        replica.fetch.wait.max.ms=250 (followers fetch in rounds,
#                        so the leader always holds records they lack and every
#                        kill leaves a divergent suffix to truncate)
#   KEEP_TMP             set: keep the cluster's state and logs (kept anyway on
#                        failure); the checker's stderr, librdkafka's log lines
#                        included, is in checker.stderr there
# Exit status 0 when every check passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TERN_BUILD_DIR:-$ROOT/build}
KILLS=${KILLS:-100}
MINUTES=${MINUTES:-0}
RATE=${RATE:-500}
RETRIES=${RETRIES:-0}
BROKER_PROPS=${BROKER_PROPS-replica.lag.time.max.ms=3000 replica.fetch.min.bytes=1000000 replica.fetch.wait.max.ms=250}
NODES=3
CLUSTER=$ROOT/deploy/cluster.sh
PY=/usr/bin/python3

die() {
	echo "soak.sh: $*" >&2
	exit 1
}
[[ -x $BUILD/cmd/tern-broker && -x $BUILD/cmd/tern ]] ||
	die "no tern-broker/tern in $BUILD/cmd (build first, or set TERN_BUILD_DIR)"
[[ $KILLS =~ ^[0-9]+$ ]] || die "KILLS must be a number"
[[ $MINUTES =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MINUTES must be a number"
[[ $KILLS != 0 || $MINUTES != 0 ]] || die "KILLS=0 needs MINUTES"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-soak.XXXXXX")
STATE=$TMP/cluster
cleanup() {
	local rc=$?
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
	if [[ -n ${KEEP_TMP:-} || $rc != 0 ]]; then
		echo "soak.sh: state and broker logs kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two runs of $NODES consecutive free ports (Kafka, controller) below the
# ephemeral range.
read -r BASE CTRL < <("$PY" - "$NODES" <<'EOF'
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
# A CLI call against a dead broker gives up quickly; the checker retries.
export TERN_CONNECT_TIMEOUT_MS=1000

echo "soak.sh: $NODES brokers on 127.0.0.1:$BASE-$((BASE + NODES - 1)), state in $TMP" >&2
"$CLUSTER" up >"$TMP/up.log" 2>&1 || {
	cat "$TMP/up.log" >&2
	die "cluster.sh up failed"
}
if [[ -n $BROKER_PROPS ]]; then
	# cluster.sh renders server-N.properties at `up` and keeps it for
	# `start N`: add the lines there (a later line wins) and restart.
	"$CLUSTER" down >>"$TMP/up.log" 2>&1
	for ((id = 0; id < NODES; id++)); do
		for kv in $BROKER_PROPS; do echo "$kv"; done >>"$STATE/server-$id.properties"
	done
	for ((id = 0; id < NODES; id++)); do
		"$CLUSTER" start "$id" >>"$TMP/up.log" 2>&1 || {
			cat "$TMP/up.log" >&2
			die "cluster.sh start $id failed"
		}
	done
	# The metadata still lists the brokers' registrations from before the
	# restart (all stopped at once: no controller was left to fence them);
	# a new one is taken once the old session has expired. Until every node
	# is registered and unfenced again, Metadata describes a cluster that is
	# not there: wait, so that the first kill does not meet it.
	deadline=$((SECONDS + 60))
	for ((id = 0; id < NODES; id++)); do
		until awk '/^=== .* start node/ { up = 0 } /is unfenced/ { up = 1 } END { exit !up }' \
			"$STATE/broker-$id.log"; do
			((SECONDS < deadline)) || die "node $id not registered again within 60 s after its restart"
			sleep 0.2
		done
	done
fi
echo "soak.sh: $(grep -hE '^(broker\.(heartbeat\.interval|session\.timeout)\.ms|replica\.)' \
	"$STATE/server-0.properties" | tr '\n' ' ')" >&2

"$PY" "$ROOT/tests/fault/checker.py" soak --cluster-sh "$CLUSTER" --state "$STATE" --tern "$BUILD/cmd/tern" \
	--base-port "$BASE" --nodes "$NODES" --kills "$KILLS" --minutes "$MINUTES" --rate "$RATE" \
	--retries "$RETRIES" 2> >(tee "$TMP/checker.stderr" | grep -v '^%[0-9]|' >&2)
