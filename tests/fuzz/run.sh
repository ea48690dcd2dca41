#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 20).
#
# A target's seeds live in tests/fuzz/corpus/<target>/ (read only); what the
# fuzzer finds goes to build-fuzz/corpus/<target>/, crashes to
# build-fuzz/artifacts/. FUZZ_FILTER=REGEX runs only the matching targets.
#
# Prints "FUZZ PASS name" / "FUZZ FAIL name" per target and ends with
# "fuzz: N passed, N failed"; exits non-zero when a target failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER=${FUZZ_SECONDS:-20}
FILTER=${FUZZ_FILTER:-}
JOBS=${TERN_JOBS:-2}
OUT="$ROOT/build-fuzz"

passed=0
failed=0
summary() {
  echo "fuzz: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

targets=()
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  if [ -n "$FILTER" ] && ! [[ "$name" =~ $FILTER ]]; then
    continue
  fi
  targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets${FILTER:+ matching '$FILTER'}"
  summary
fi

if ! command -v clang >/dev/null 2>&1; then
  echo "FUZZ FAIL build: clang not found"
  failed=1
  summary
fi

mkdir -p "$OUT"
if ! CC=clang cmake -S "$ROOT" -B "$OUT" -DTERN_FUZZ=ON -DTERN_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$OUT/configure.log" 2>&1; then
  cat "$OUT/configure.log"
  echo "FUZZ FAIL build: cmake configure (see build-fuzz/configure.log)"
  failed=1
  summary
fi
# Build only the fuzz targets; keep going so one broken target costs only itself.
keep=()
[ -f "$OUT/Makefile" ] && keep=(-- -k)
cmake --build "$OUT" -j"$JOBS" --target "${targets[@]}" "${keep[@]}" >"$OUT/build.log" 2>&1 ||
  grep -E 'error' "$OUT/build.log" | head -30

mkdir -p "$OUT/artifacts"
for name in "${targets[@]}"; do
  bin=$(find "$OUT" -type f -name "$name" -perm -u+x | head -n 1)
  if [ -z "$bin" ]; then
    echo "FUZZ FAIL $name (did not build, see build-fuzz/build.log)"
    failed=$((failed + 1))
    continue
  fi
  work="$OUT/corpus/$name"
  mkdir -p "$work"
  dirs=("$work")
  [ -d "$ROOT/tests/fuzz/corpus/$name" ] && dirs+=("$ROOT/tests/fuzz/corpus/$name")
  log="$OUT/$name.log"
  # -rss_limit_mb: a decoder that allocates what a length field claims is a bug.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    timeout --kill-after=10 $((SECONDS_PER + 60)) \
    "$bin" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name-" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    runs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "FUZZ PASS $name (${runs:-?} runs)"
    passed=$((passed + 1))
  else
    echo "FUZZ FAIL $name (exit $rc; log build-fuzz/$name.log)"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -10
    failed=$((failed + 1))
  fi
done
summary
