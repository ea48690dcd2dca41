#!/usr/bin/env bash
# Produce/consume benchmark: Tern against librdkafka's in-process mock
# cluster, the same client (tern-perf) on both sides.
#
#   tests/bench/produce.sh [--mock-only]
#
# Builds nothing: uses the binaries in $TERN_BUILD (default build/) under
# cmd/. Starts one tern-broker on a free port with a temporary data dir
# (stopped and removed on exit), creates the topics, then for 1 KiB records
# runs produce acks=1, produce acks=all and consume, $REPS times each against
# the broker and against `--mock 1`, and prints the medians and the
# broker/mock ratios.
#
# Environment: COUNT (records per run, 200000), SIZE (bytes, 1024), REPS (3),
# PARTITIONS (1), COMPRESSION (none), TERN_BUILD.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TERN_BUILD:-$ROOT/build}
COUNT=${COUNT:-200000}
SIZE=${SIZE:-1024}
REPS=${REPS:-3}
PARTITIONS=${PARTITIONS:-1}
COMPRESSION=${COMPRESSION:-none}
MOCK_ONLY=0
[[ "${1:-}" == "--mock-only" ]] && MOCK_ONLY=1

PERF=$BUILD/cmd/tern-perf
TERN=$BUILD/cmd/tern
BROKER=$BUILD/cmd/tern-broker

die() { echo "produce.sh: $*" >&2; exit 1; }
[[ -x $PERF ]] || die "no $PERF (build first, or set TERN_BUILD)"
if [[ $MOCK_ONLY == 0 ]]; then
	[[ -x $BROKER ]] || die "no $BROKER (build it, or run with --mock-only)"
	[[ -x $TERN ]] || die "no $TERN (build first, or set TERN_BUILD)"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
BROKER_PID=
cleanup() {
	if [[ -n $BROKER_PID ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
		kill -TERM "$BROKER_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BROKER_PID" 2>/dev/null || true
		wait "$BROKER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_broker() {
	local port
	port=$(free_port)
	mkdir -p "$TMP/data"
	cat >"$TMP/server.properties" <<-PROPS
	node.id=0
	listeners=PLAINTEXT://127.0.0.1:$port
	log.dirs=$TMP/data
	num.partitions=$PARTITIONS
	offsets.topic.replication.factor=1
	PROPS
	"$BROKER" "$TMP/server.properties" >"$TMP/broker.log" 2>&1 &
	BROKER_PID=$!
	for _ in $(seq 150); do
		if ! kill -0 "$BROKER_PID" 2>/dev/null; then
			tail -20 "$TMP/broker.log" >&2
			die "tern-broker exited during startup"
		fi
		if grep -q "listening on" "$TMP/broker.log"; then
			BOOTSTRAP=$(sed -n 's/.*listening on \([^ ]*:[0-9]*\).*/\1/p' "$TMP/broker.log" | head -1)
			return 0
		fi
		sleep 0.1
	done
	tail -20 "$TMP/broker.log" >&2
	die "tern-broker did not report 'listening on' within 15 s"
}

# Runs tern-perf once; prints "rec_per_s MB_per_s p99_ms" (p99 "-" for consume).
run_perf() {
	local line
	if ! line=$("$PERF" "$@" --count "$COUNT" --size "$SIZE" --compression "$COMPRESSION" 2>"$TMP/perf.err"); then
		cat "$TMP/perf.err" >&2
		die "tern-perf $* failed"
	fi
	echo "$line" >>"$TMP/runs.log"
	awk '{ r="-"; m="-"; p="-";
	       for (i = 1; i <= NF; i++) { split($i, kv, "=");
	         if (kv[1] == "rec_per_s") r = kv[2]; if (kv[1] == "MB_per_s") m = kv[2]; if (kv[1] == "p99_ms") p = kv[2] }
	       print r, m, p }' <<<"$line"
}

# The median of the numbers on stdin ("-" when there are none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Repeats a run $REPS times; prints the medians "rec_per_s MB_per_s p99_ms".
measure() {
	local out=$TMP/measure.txt
	: >"$out"
	for _ in $(seq "$REPS"); do run_perf "$@" >>"$out"; done
	echo "$(cut -d' ' -f1 "$out" | median) $(cut -d' ' -f2 "$out" | median) $(cut -d' ' -f3 "$out" | grep -v -- - | median)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

declare -A RESULT
run_case() { # name target args...
	local name=$1 target=$2
	shift 2
	echo "  $name on $target ..." >&2
	RESULT[$name,$target]=$(measure "$@")
}

echo "tern bench: $COUNT records x $SIZE B, $REPS reps, $PARTITIONS partition(s), compression $COMPRESSION" >&2
if [[ $MOCK_ONLY == 0 ]]; then
	start_broker
	echo "  broker listening on $BOOTSTRAP (log: kept until exit)" >&2
	for t in bench-acks1 bench-acksall; do
		"$TERN" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$t" \
			--partitions "$PARTITIONS" --replication-factor 1 >/dev/null
	done
	run_case "produce acks=1" broker produce --bootstrap-server "$BOOTSTRAP" --topic bench-acks1 --acks 1
	run_case "produce acks=all" broker produce --bootstrap-server "$BOOTSTRAP" --topic bench-acksall --acks all
	# Reads the first COUNT records of a topic the produce runs filled.
	run_case "consume" broker consume --bootstrap-server "$BOOTSTRAP" --topic bench-acks1
fi
run_case "produce acks=1" mock produce --mock 1 --partitions "$PARTITIONS" --topic bench --acks 1
run_case "produce acks=all" mock produce --mock 1 --partitions "$PARTITIONS" --topic bench --acks all
run_case "consume" mock consume --mock 1 --partitions "$PARTITIONS" --topic bench

printf '\n%-18s %12s %10s %10s %12s %10s %10s %9s\n' case broker_rec/s MB/s p99_ms mock_rec/s MB/s p99_ms ratio
for name in "produce acks=1" "produce acks=all" "consume"; do
	read -r br bm bp <<<"${RESULT[$name,broker]:-- - -}"
	read -r mr mm mp <<<"${RESULT[$name,mock]}"
	printf '%-18s %12s %10s %10s %12s %10s %10s %9s\n' "$name" "$br" "$bm" "$bp" "$mr" "$mm" "$mp" "$(ratio "$br" "$mr")"
done
echo "(medians of $REPS runs; ratio = broker rec/s / mock rec/s; p99 = delivery latency)"
