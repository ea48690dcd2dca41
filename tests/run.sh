#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run).
#
#   ./tests/run.sh                      everything: deps, builds, unit (+ASan/UBSan), fuzz, integration
#   ./tests/run.sh unit [-k PATTERN]    build/ and build-asan/, ctest (-R PATTERN)
#   ./tests/run.sh integration [-k P]   build/, pytest tests/integration (-k P)
#   ./tests/run.sh fuzz [-k PATTERN]    tests/fuzz/run.sh (targets whose name matches)
#
# Every ctest test, pytest test and fuzz target counts as one; a build that
# fails counts as one failure. The last line is "N passed, N failed"; the exit
# status is non-zero when anything failed.
#
# Environment: FUZZ_SECONDS (per fuzz target, default 20), TERN_SKIP_DEPS=1
# (do not run deploy/deps.sh), TERN_JOBS (build parallelism, default 2).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

what=all
pattern=""
while [ $# -gt 0 ]; do
  case "$1" in
    unit|integration|fuzz|all) what=$1 ;;
    -k) shift; pattern=${1:-} ;;
    -k*) pattern=${1#-k} ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

JOBS=${TERN_JOBS:-2}
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
PYTHON=/usr/bin/python3
passed=0
failed=0
failures=()

section() { printf '\n==== %s\n' "$*"; }
fail_item() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1"; }

# build DIR LABEL [cmake args...]: configure and build with -Werror (the
# project's flags); keeps going past a broken target so the rest can be tested.
build() {
  local dir=$1 label=$2
  shift 2
  section "build $label ($dir)"
  # Logs stay inside the build directory (ignored by git).
  mkdir -p "$ROOT/$dir"
  if ! cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >"$ROOT/$dir/configure.log" 2>&1; then
    cat "$ROOT/$dir/configure.log"
    fail_item "build $label: cmake configure"
    return 1
  fi
  local keep=()
  [ -f "$ROOT/$dir/Makefile" ] && keep=(-- -k)
  [ -f "$ROOT/$dir/build.ninja" ] && keep=(-- -k 0)
  if ! cmake --build "$ROOT/$dir" -j"$JOBS" "${keep[@]}" >"$ROOT/$dir/build.log" 2>&1; then
    grep -E 'error|Error' "$ROOT/$dir/build.log" | head -40
    fail_item "build $label (see $dir/build.log)"
    return 1
  fi
  echo "ok"
}

# ctest_run DIR LABEL: runs the unit tests of DIR, adds its counts.
ctest_run() {
  local dir=$1 label=$2 log
  section "unit tests $label"
  [ -d "$ROOT/$dir" ] || return 0
  log="$ROOT/$dir/ctest.log"
  local args=(--test-dir "$ROOT/$dir" --output-on-failure --timeout 300 -j"$JOBS")
  [ -n "$pattern" ] && args+=(-R "$pattern")
  ctest "${args[@]}" >"$log" 2>&1
  # Per-test lines: "  1/12 Test  #1: protocol/test_kreader ....   Passed    0.01 sec"
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +' "$log")
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Not Run|Exception|Timeout)' "$log")
  grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +' "$log" | tail -n 200
  passed=$((passed + p))
  while IFS= read -r name; do
    fail_item "unit $label: $name"
  done < <(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Not Run|Exception|Timeout)' "$log" |
    sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+).*/\1/')
  echo "$label: $p passed, $f failed"
}

run_unit() {
  build build release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_TESTS=ON
  ctest_run build release
  build build-asan asan -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON -DTERN_TESTS=ON
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest_run build-asan asan
}

run_fuzz() {
  section "fuzz (${FUZZ_SECONDS}s per target)"
  mkdir -p "$ROOT/build-fuzz"
  local log="$ROOT/build-fuzz/run.log" line p f
  FUZZ_FILTER="$pattern" "$ROOT/tests/fuzz/run.sh" 2>&1 | tee "$log"
  line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    fail_item "fuzz: tests/fuzz/run.sh ended without a summary"
    return
  fi
  p=$(echo "$line" | sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1/')
  f=$(echo "$line" | sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\2/')
  passed=$((passed + p))
  # Each failed target (and a failed fuzz build) is one "FUZZ FAIL name" line.
  while IFS= read -r name; do fail_item "fuzz: $name"; done < <(grep -E '^FUZZ FAIL ' "$log" | sed 's/^FUZZ FAIL //')
  if [ "$f" -ne "$(grep -cE '^FUZZ FAIL ' "$log")" ]; then
    fail_item "fuzz: summary says $f failed but the FAIL lines disagree"
  fi
}

run_integration() {
  section "integration tests"
  if [ ! -x "$ROOT/build/cmd/tern-broker" ]; then
    echo "build/cmd/tern-broker is missing: every broker test will fail"
  fi
  local junit="$ROOT/build/integration-junit.xml"
  mkdir -p "$ROOT/build"
  rm -f "$junit"
  local args=(-m pytest "$ROOT/tests/integration" -q -rfE -p no:cacheprovider --junitxml="$junit")
  [ -n "$pattern" ] && args+=(-k "$pattern")
  # 20 minutes at most for the whole integration suite.
  TERN_BUILD_DIR="$ROOT/build" timeout --signal=TERM --kill-after=30 1200 "$PYTHON" "${args[@]}"
  local rc=$?
  if [ ! -f "$junit" ]; then
    fail_item "integration: pytest exited $rc without a report"
    return
  fi
  local counts
  counts=$("$PYTHON" - "$junit" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
passed = 0
failed = []
for s in suites:
    for case in s.iter("testcase"):
        name = "%s::%s" % (case.get("classname", ""), case.get("name", ""))
        bad = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        if bad:
            failed.append(name)
        elif not skipped:
            passed += 1
print(passed)
for n in failed:
    print(n)
EOF
)
  local p
  p=$(echo "$counts" | head -n 1)
  passed=$((passed + ${p:-0}))
  while IFS= read -r name; do
    [ -n "$name" ] && fail_item "integration: $name"
  done < <(echo "$counts" | tail -n +2)
  if [ $rc -ne 0 ] && [ $rc -ne 1 ] && [ $rc -ne 5 ]; then
    fail_item "integration: pytest exited $rc (interrupted, timed out or internal error)"
  fi
}

start=$(date +%s)
if [ "${TERN_SKIP_DEPS:-0}" != 1 ]; then
  section "deps"
  "$ROOT/deploy/deps.sh" || fail_item "deploy/deps.sh"
fi

case "$what" in
  unit) run_unit ;;
  integration)
    build build release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_TESTS=ON
    run_integration
    ;;
  fuzz) run_fuzz ;;
  all)
    run_unit
    run_fuzz
    run_integration
    ;;
esac

section "summary ($(( $(date +%s) - start ))s)"
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
