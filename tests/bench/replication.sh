#!/usr/bin/env bash
# Replication benchmark: what replication factor 3 with acks=all costs on a
# three-broker cluster.
#
#   tests/bench/replication.sh
#
# Builds nothing: uses the binaries in $TERN_BUILD_DIR (or $TERN_BUILD; default
# build/). Starts its own cluster with deploy/cluster.sh (state in a mktemp
# dir, free ports; stopped and removed on exit), creates the topics with
# `tern topics --create`, then:
#
#  (1) throughput: $REPS rounds of `tern-perf produce` of $COUNT records of
#      $SIZE bytes to a new topic with replication factor 1 (acks=1), then to
#      one with replication factor 3 and min.insync.replicas=2 (acks=all).
#      Prints the median rec/s and MB/s of each and the ratio RF 3 / RF 1
#      (the aim is >= 0.6).
#  (2) end-to-end latency: $REPS times `tern-perf e2e` at $RATE records/s for
#      $SECONDS seconds, replication factor 3, acks=all: one process produces
#      and consumes (one clock), and reports produce -> ack and produce ->
#      consumed latencies. Then the same run against librdkafka's in-process
#      mock cluster (`--mock 3`) as the reference, and the Tern/mock ratios
#      of the medians.
#
# Both sides use librdkafka's defaults (linger.ms=5, as Kafka's producer since
# KIP-1030; fetch.wait.max.ms=500), except that the mock's consumer polls with
# fetch.wait.max.ms=1: the mock parks a Fetch that finds no data for the whole
# wait even when records arrive meanwhile (p50 ~250 ms with the default), where
# a Kafka broker answers as soon as the high watermark moves. That polling adds
# up to 1 ms to the mock's e2e figures.
#
# The machine's 2 cores run the three brokers and the client: quote ratios,
# not absolutes. late_max (e2e) is how far the sender ever fell behind its
# schedule; tens of ms mean the machine was busy.
#
# Environment: COUNT (records per throughput run, 300000), SIZE (bytes, 1024),
# REPS (5), RATE (records/s, 10000), SECONDS (per e2e run, 10), PARTITIONS
# (1), TERN_BUILD_DIR/TERN_BUILD. KEEP_TMP=1 keeps the cluster's directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TERN_BUILD_DIR:-${TERN_BUILD:-$ROOT/build}}
COUNT=${COUNT:-300000}
SIZE=${SIZE:-1024}
REPS=${REPS:-5}
RATE=${RATE:-10000}
# SECONDS is also bash's own clock (seconds since the shell started): read
# the value the caller put in the environment.
SECONDS_E2E=$(printenv SECONDS || echo 10)
PARTITIONS=${PARTITIONS:-1}
NODES=3
CLUSTER=$ROOT/deploy/cluster.sh
TERN=$BUILD/cmd/tern
PERF=$BUILD/cmd/tern-perf

die() {
	echo "replication.sh: $*" >&2
	exit 1
}
note() { echo "  $*" >&2; }
for v in COUNT SIZE REPS RATE SECONDS_E2E PARTITIONS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v%_E2E} must be a positive number, not '${!v}'"
done
[[ -x $BUILD/cmd/tern-broker ]] || die "no $BUILD/cmd/tern-broker (build first, or set TERN_BUILD_DIR)"
[[ -x $TERN ]] || die "no $TERN (build first, or set TERN_BUILD_DIR)"
[[ -x $PERF ]] || die "no $PERF (build first, or set TERN_BUILD_DIR)"
E2E_COUNT=$((RATE * SECONDS_E2E))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-replication.XXXXXX")
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
	if [[ -n ${KEEP_TMP:-} ]]; then echo "replication.sh: state kept in $TMP" >&2; else rm -rf "$TMP"; fi
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
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

# Runs tern-perf once; appends its summary line to $TMP/<case>.runs.
run_perf() { # case args...
	local name=$1 line
	shift
	if ! line=$("$PERF" "$@" 2>"$TMP/perf.err"); then
		cat "$TMP/perf.err" >&2
		[[ -z ${line:-} ]] || echo "$line" >&2
		die "tern-perf $* failed"
	fi
	echo "$line" >>"$TMP/$name.runs"
	note "$name: $line"
}

# The median of key $2 over the runs of case $1.
med() {
	local line
	while read -r line; do field "$2" "$line"; done <"$TMP/$1.runs" | median
}

echo "replication.sh: starting $NODES brokers on 127.0.0.1:$BASE-$((BASE + NODES - 1))," \
	"controllers on $CTRL-$((CTRL + NODES - 1))" >&2
"$CLUSTER" up >"$TMP/up.log" 2>&1 || {
	cat "$TMP/up.log" >&2
	die "cluster.sh up failed"
}

create() { # topic rf [config...]
	local topic=$1 rf=$2 args=()
	shift 2
	for c in "$@"; do args+=(--config "$c"); done
	"$TERN" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$topic" --partitions "$PARTITIONS" \
		--replication-factor "$rf" "${args[@]}" >/dev/null || die "cannot create topic $topic"
}
create bench-e2e 3 min.insync.replicas=2

# Off the clock, before each run: the topic's leader and followers in place
# and fetching.
warm_up() {
	"$PERF" produce --bootstrap-server "$BOOTSTRAP" --topic "$1" --acks all --count 2000 --size "$SIZE" \
		>/dev/null 2>"$TMP/perf.err" || {
		cat "$TMP/perf.err" >&2
		die "warm-up produce to $1 failed"
	}
}

# --- (1) throughput -----------------------------------------------------------
# Every round writes to new topics and deletes them afterwards: all rounds
# start from empty logs, and the data of one round (COUNT x SIZE x 4 replicas)
# is gone before the next. Kept, 5 rounds of the defaults would write 6 GB,
# past the kernel's dirty page limit (vm.dirty_ratio, 20% of RAM): the later
# rounds would wait for the disk, and the replicated ones three times as long.
echo "(1) produce throughput: $REPS x (RF 1 acks=1, RF 3 acks=all), $COUNT records x $SIZE B" >&2
for ((k = 1; k <= REPS; k++)); do
	create "bench-rf1-$k" 1
	create "bench-rf3-$k" 3 min.insync.replicas=2
	warm_up "bench-rf1-$k"
	warm_up "bench-rf3-$k"
	if ((k == 1)); then
		"$TERN" topics --bootstrap-server "$BOOTSTRAP" --describe --topic 'bench-(e2e|rf1-1|rf3-1)' \
			>"$TMP/describe.txt" 2>&1 || true
		sed 's/^/  /' "$TMP/describe.txt" >&2
	fi
	run_perf rf1 produce --bootstrap-server "$BOOTSTRAP" --topic "bench-rf1-$k" --acks 1 --count "$COUNT" --size "$SIZE"
	run_perf rf3 produce --bootstrap-server "$BOOTSTRAP" --topic "bench-rf3-$k" --acks all --count "$COUNT" \
		--size "$SIZE"
	"$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "bench-rf[13]-$k" >/dev/null 2>&1 ||
		note "could not delete the topics of round $k (their data stays until exit)"
done

# --- (2) end-to-end latency ----------------------------------------------------
echo "(2) end-to-end latency: $REPS x $SECONDS_E2E s at $RATE records/s, RF 3 acks=all; then the mock" >&2
for ((k = 1; k <= REPS; k++)); do
	run_perf e2e-tern e2e --bootstrap-server "$BOOTSTRAP" --topic bench-e2e --acks all --rate "$RATE" \
		--count "$E2E_COUNT" --size "$SIZE"
done
for ((k = 1; k <= REPS; k++)); do
	run_perf e2e-mock e2e --mock 3 --partitions "$PARTITIONS" --topic bench-e2e --acks all --rate "$RATE" \
		--count "$E2E_COUNT" --size "$SIZE" --property fetch.wait.max.ms=1
done

# --- summary ---------------------------------------------------------------------
echo
echo "replication: $NODES brokers, $PARTITIONS partition(s), $SIZE B records, medians of $REPS runs"
echo "(1) produce throughput, $COUNT records a run"
printf '  %-40s %10s %8s %8s\n' "" "rec/s" "MB/s" "p99_ms"
for c in rf1 rf3; do
	label="RF 1, acks=1"
	[[ $c == rf3 ]] && label="RF 3, acks=all, min.insync.replicas=2"
	printf '  %-40s %10s %8s %8s\n' "$label" "$(med $c rec_per_s)" "$(med $c MB_per_s)" "$(med $c p99_ms)"
done
tput_ratio=$(ratio "$(med rf3 rec_per_s)" "$(med rf1 rec_per_s)")
verdict=$(awk -v r="$tput_ratio" 'BEGIN { print (r != "-" && r >= 0.6) ? "met" : "NOT met" }')
printf '  %-40s %10s   (aim >= 0.6: %s)\n' "ratio RF 3 / RF 1 (of the medians)" "$tput_ratio" "$verdict"
# Run k of each case ran back to back: their ratio is less exposed to the
# load of other processes drifting over the whole benchmark.
paired=$(paste -d' ' <(while read -r l; do field rec_per_s "$l"; done <"$TMP/rf3.runs") \
	<(while read -r l; do field rec_per_s "$l"; done <"$TMP/rf1.runs") |
	while read -r a b; do ratio "$a" "$b"; echo; done | median)
printf '  %-40s %10s\n' "median of the per-run ratios" "$paired"

echo "(2) end-to-end latency at $RATE records/s for ${SECONDS_E2E}s, RF 3, acks=all (ms)"
keys=(sent_per_s late_max_ms ack_p50_ms ack_p99_ms e2e_p50_ms e2e_p99_ms e2e_p999_ms e2e_max_ms)
printf '  %-18s %10s %8s %8s %8s %8s %8s %9s %8s\n' "" sent/s late_max ack_p50 ack_p99 e2e_p50 e2e_p99 e2e_p99.9 e2e_max
for c in e2e-tern e2e-mock; do
	label="tern"
	[[ $c == e2e-mock ]] && label="mock (--mock 3)"
	vals=()
	for k in "${keys[@]}"; do vals+=("$(med $c "$k")"); done
	printf '  %-18s %10s %8s %8s %8s %8s %8s %9s %8s\n' "$label" "${vals[@]}"
done
vals=()
for k in "${keys[@]:2}"; do vals+=("$(ratio "$(med e2e-tern "$k")" "$(med e2e-mock "$k")")"); done
printf '  %-18s %10s %8s %8s %8s %8s %8s %9s %8s\n' "ratio tern / mock" "" "" "${vals[@]}"
echo "  (ack = produce() -> delivery report; e2e = produce() -> consumer got it; both include"
echo "   linger.ms=5; the mock's consumer polls every 1 ms, see the header of this script)"
