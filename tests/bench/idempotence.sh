#!/usr/bin/env bash
# Idempotence benchmark: what enable.idempotence=true (KIP-98) costs a
# producer on a three-broker cluster.
#
#   tests/bench/idempotence.sh
#
# Builds nothing: uses the binaries in $TERN_BUILD_DIR (or $TERN_BUILD; default
# build/). Starts its own cluster with deploy/cluster.sh (state in a mktemp
# dir, free ports; stopped and removed on exit) and runs $REPS rounds; each
# round creates three topics with replication factor 3 and
# min.insync.replicas=2 and runs `tern-perf produce --acks all` of $COUNT
# records of $SIZE bytes into each:
#
#   off    enable.idempotence=false (librdkafka's defaults otherwise: up to
#          a million requests in flight per connection)
#   on     enable.idempotence=true: every batch carries a producer id, epoch
#          and sequence; the leader checks it against the partition's
#          producer state before the append, and every replica records it
#   off1   enable.idempotence=false, max.in.flight=1: a reference for how
#          librdkafka sends with idempotence. Its idempotent producer counts
#          records, not requests, against its limit of 5 in flight per
#          partition (rktp_msgs_inflight vs RD_KAFKA_IDEMP_MAX_INFLIGHT in
#          rdkafka_broker.c; librdkafka PR #4989), so with batches of more
#          than 4 records it keeps ONE produce request in flight per
#          partition, against any broker. on / off1 is the part of the cost
#          that is not this client's pipelining.
#
# It also reads the brokers' CPU time (utime + stime of the three
# processes, /proc/PID/stat) around every run, and the client's: the
# broker-side work of idempotence shows in the first whatever the client
# does. The second shows librdkafka's: while its one request is in flight,
# the same accounting makes its broker thread wake up in a loop (its
# statistics count ~500,000 wake-ups for 300,000 records, against ~900
# with max.in.flight=1), and on a machine where client and brokers share
# two cores that spinning takes CPU from the brokers.
#
# The order of the three rotates from round to round (drift in the load of
# the machine does not always hit the same case); a round's topics are
# deleted afterwards, so every run starts from an empty log. Prints the
# median rec/s, MB/s, p99 latency and CPU seconds of each, the ratio
# on / off of the medians (the aim is >= 0.95), the median of the per-round
# ratios, and on / off1.
#
# The machine's 2 cores run the three brokers and the client: quote ratios,
# not absolutes.
#
# Environment: COUNT (records per run, 300000), SIZE (bytes, 1024), REPS (5),
# PARTITIONS (1), TERN_BUILD_DIR/TERN_BUILD. KEEP_TMP=1 keeps the cluster's
# directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TERN_BUILD_DIR:-${TERN_BUILD:-$ROOT/build}}
COUNT=${COUNT:-300000}
SIZE=${SIZE:-1024}
REPS=${REPS:-5}
PARTITIONS=${PARTITIONS:-1}
NODES=3
AIM=0.95
CLUSTER=$ROOT/deploy/cluster.sh
TERN=$BUILD/cmd/tern
PERF=$BUILD/cmd/tern-perf

die() {
	echo "idempotence.sh: $*" >&2
	exit 1
}
note() { echo "  $*" >&2; }
for v in COUNT SIZE REPS PARTITIONS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, not '${!v}'"
done
[[ -x $BUILD/cmd/tern-broker ]] || die "no $BUILD/cmd/tern-broker (build first, or set TERN_BUILD_DIR)"
[[ -x $TERN ]] || die "no $TERN (build first, or set TERN_BUILD_DIR)"
[[ -x $PERF ]] || die "no $PERF (build first, or set TERN_BUILD_DIR)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-idempotence.XXXXXX")
STATE=$TMP/cluster
cleanup() {
	"$CLUSTER" down >/dev/null 2>&1 || true
	# Whatever `down` did not stop.
	local f pid
	for f in "$STATE"/broker-*.pid; do
		[[ -e $f ]] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null && grep -q tern-broker "/proc/$pid/cmdline" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	if [[ -n ${KEEP_TMP:-} ]]; then echo "idempotence.sh: state kept in $TMP" >&2; else rm -rf "$TMP"; fi
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
BOOTSTRAP=127.0.0.1:$BASE
for ((id = 1; id < NODES; id++)); do BOOTSTRAP+=",127.0.0.1:$((BASE + id))"; done

# The librdkafka properties of each case.
declare -A PROPS=(
	[off]="enable.idempotence=false"
	[on]="enable.idempotence=true"
	[off1]="enable.idempotence=false max.in.flight=1"
)
CASES=(off on off1)

# The value of key $1 in a tern-perf summary line ($2); "-" when absent.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } }
	                 print "-" }' <<<"$2"
}

# The median of the numbers on stdin ("-" when there are none).
median() {
	{ grep -v -- '^-$' || true; } | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		                          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }'
}

# --property k=v for every property of case $1.
props() {
	local p
	for p in ${PROPS[$1]}; do printf -- '--property\n%s\n' "$p"; done
}

# Runs tern-perf produce for case $1 into topic $2 with $3 records; prints
# its summary line with client_cpu_s= (the user + system seconds tern-perf
# itself used) appended. tern-perf exits non-zero when any record failed.
perf_produce() { # case topic count
	local args TIMEFORMAT='%U %S'
	mapfile -t args < <(props "$1")
	if ! { time "$PERF" produce --bootstrap-server "$BOOTSTRAP" --topic "$2" --acks all --count "$3" \
		--size "$SIZE" "${args[@]}" >"$TMP/perf.out" 2>"$TMP/perf.err"; } 2>"$TMP/perf.time"; then
		cat "$TMP/perf.err" "$TMP/perf.out" >&2
		die "tern-perf produce ($1, ${PROPS[$1]}) to $2 failed"
	fi
	echo "$(cat "$TMP/perf.out") client_cpu_s=$(awk '{ printf "%.2f", $1 + $2 }' "$TMP/perf.time")"
}

# CPU seconds (user + system) the brokers have used so far.
HZ=$(getconf CLK_TCK)
broker_cpu() {
	local f pid ticks=0 t
	for f in "$STATE"/broker-*.pid; do
		pid=$(cat "$f")
		# Fields 14 and 15 (utime, stime), counted after the ")" that
		# ends the command name.
		t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
		ticks=$((ticks + ${t:-0}))
	done
	awk -v t="$ticks" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }'
}

# The median of key $2 over the runs of case $1.
med() {
	local line
	while read -r line; do field "$2" "$line"; done <"$TMP/$1.runs" | median
}

echo "idempotence.sh: starting $NODES brokers on 127.0.0.1:$BASE-$((BASE + NODES - 1))," \
	"controllers on $CTRL-$((CTRL + NODES - 1))" >&2
"$CLUSTER" up >"$TMP/up.log" 2>&1 || {
	cat "$TMP/up.log" >&2
	die "cluster.sh up failed"
}

# Retried for a while: `cluster.sh up` returns once the quorum has a
# leader, which may be before all three brokers have registered with it.
create() { # topic
	local tries
	for ((tries = 0; tries < 150; tries++)); do
		"$TERN" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$1" --partitions "$PARTITIONS" \
			--replication-factor 3 --config min.insync.replicas=2 >/dev/null 2>"$TMP/create.err" && return 0
		sleep 0.2
	done
	cat "$TMP/create.err" >&2
	die "cannot create topic $1"
}

echo "produce throughput: $REPS rounds of (${CASES[*]}), RF 3, acks=all, $COUNT records x $SIZE B" >&2
for c in "${CASES[@]}"; do : >"$TMP/$c.runs"; done
for ((k = 1; k <= REPS; k++)); do
	order=()
	for ((i = 0; i < ${#CASES[@]}; i++)); do order+=("${CASES[$(((i + k - 1) % ${#CASES[@]}))]}"); done
	for c in "${order[@]}"; do
		create "bench-idem-$c-$k"
		# Off the clock: the leader and followers in place and fetching,
		# and (on) the producer state of a first producer id.
		perf_produce "$c" "bench-idem-$c-$k" 2000 >/dev/null
	done
	if ((k == 1)); then
		"$TERN" topics --bootstrap-server "$BOOTSTRAP" --describe --topic "bench-idem-on-1" \
			>"$TMP/describe.txt" 2>&1 || true
		sed 's/^/  /' "$TMP/describe.txt" >&2
	fi
	for c in "${order[@]}"; do
		cpu0=$(broker_cpu)
		line=$(perf_produce "$c" "bench-idem-$c-$k" "$COUNT")
		cpu1=$(broker_cpu)
		line+=" broker_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')"
		echo "$line" >>"$TMP/$c.runs"
		note "round $k, $c: $line"
	done
	for c in "${CASES[@]}"; do
		"$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "bench-idem-$c-$k" >/dev/null 2>&1 ||
			note "could not delete bench-idem-$c-$k (its data stays until exit)"
	done
done

# --- summary ---------------------------------------------------------------------
echo
echo "idempotence: $NODES brokers, RF 3, min.insync.replicas=2, acks=all, $PARTITIONS partition(s)," \
	"$COUNT x $SIZE B records a run, medians of $REPS runs"
printf '  %-46s %10s %8s %8s %13s %13s\n' "" "rec/s" "MB/s" "p99_ms" "broker_cpu_s" "client_cpu_s"
for c in "${CASES[@]}"; do
	printf '  %-46s %10s %8s %8s %13s %13s\n' "$c: ${PROPS[$c]}" "$(med "$c" rec_per_s)" "$(med "$c" MB_per_s)" \
		"$(med "$c" p99_ms)" "$(med "$c" broker_cpu_s)" "$(med "$c" client_cpu_s)"
done
r=$(ratio "$(med on rec_per_s)" "$(med off rec_per_s)")
verdict=$(awk -v r="$r" -v aim="$AIM" 'BEGIN { print (r != "-" && r >= aim) ? "met" : "NOT met" }')
printf '  %-46s %10s   (aim >= %s: %s)\n' "ratio on / off (of the medians)" "$r" "$AIM" "$verdict"
# The runs of one round ran one after the other: their ratio is less exposed
# to load drifting over the whole benchmark.
paired=$(paste -d' ' <(while read -r l; do field rec_per_s "$l"; done <"$TMP/on.runs") \
	<(while read -r l; do field rec_per_s "$l"; done <"$TMP/off.runs") |
	while read -r a b; do
		ratio "$a" "$b"
		echo
	done | median)
printf '  %-46s %10s\n' "median of the per-round ratios on / off" "$paired"
printf '  %-46s %10s\n' "ratio on / off1 (same pipelining as on)" \
	"$(ratio "$(med on rec_per_s)" "$(med off1 rec_per_s)")"
printf '  %-46s %10s\n' "brokers' CPU per run, on / off" \
	"$(ratio "$(med on broker_cpu_s)" "$(med off broker_cpu_s)")"
printf '  %-46s %10s\n' "client's CPU per run, on / off" \
	"$(ratio "$(med on client_cpu_s)" "$(med off client_cpu_s)")"
