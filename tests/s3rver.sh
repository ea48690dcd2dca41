#!/usr/bin/env bash
# A real S3 server (npm s3rver, tests/node_modules) for tests and local runs.
#
#   tests/s3rver.sh start DIR    starts one (objects under DIR/data), prints host:port
#   tests/s3rver.sh stop DIR     stops it (objects stay; a later start reuses the port)
#   tests/s3rver.sh status DIR   prints host:port and exits 0 when it runs
#
# It listens on 127.0.0.1 (a free port the first time, the same one after a
# stop), uses path-style URLs and s3rver's built-in account S3RVER / S3RVER.
# Buckets are created at start: S3RVER_BUCKETS (space-separated, default
# "tern"). S3RVER_PORT forces a port. Output goes to DIR/s3rver.log; the pid
# is DIR/s3rver.pid, the endpoint DIR/endpoint.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
script=$here/node_modules/s3rver/bin/s3rver.js

usage() { sed -n '2,12p' "$0" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

alive() { [ -f "$dir/s3rver.pid" ] && kill -0 "$(cat "$dir/s3rver.pid")" 2>/dev/null; }

case "$cmd" in
  start)
    mkdir -p "$dir/data"
    dir=$(cd "$dir" && pwd)
    if alive; then
      cat "$dir/endpoint"
      exit 0
    fi
    command -v node >/dev/null 2>&1 || { echo "s3rver.sh: node is not on PATH (deploy/deps.sh installs it)" >&2; exit 1; }
    [ -f "$script" ] || { echo "s3rver.sh: $script missing: run deploy/deps.sh (npm ci in tests/)" >&2; exit 1; }
    port=${S3RVER_PORT:-}
    if [ -z "$port" ]; then
      port=0
      [ -f "$dir/endpoint" ] && port=$(sed 's/.*://' "$dir/endpoint")
    fi
    args=(-d "$dir/data" -a 127.0.0.1 -p "$port" --no-vhost-buckets)
    for b in ${S3RVER_BUCKETS:-tern}; do args+=(--configure-bucket "$b"); done
    log=$dir/s3rver.log
    : >"$log"
    # Its own session: it outlives this script and its terminal.
    setsid node "$script" "${args[@]}" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/s3rver.pid"
    for _ in $(seq 1 400); do
      line=$(grep -Eo 'S3rver listening on [0-9.]+:[0-9]+' "$log" | head -n 1 || true)
      if [ -n "$line" ]; then
        echo "${line##* }" >"$dir/endpoint"
        cat "$dir/endpoint"
        exit 0
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "s3rver.sh: s3rver exited before listening:" >&2
        cat "$log" >&2
        rm -f "$dir/s3rver.pid"
        exit 1
      fi
      sleep 0.05
    done
    echo "s3rver.sh: s3rver did not listen within 20 s:" >&2
    cat "$log" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$dir/s3rver.pid"
    exit 1
    ;;
  stop)
    if alive; then
      pid=$(cat "$dir/s3rver.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/s3rver.pid"
    ;;
  status)
    if alive; then
      cat "$dir/endpoint"
      exit 0
    fi
    exit 1
    ;;
  *) usage ;;
esac
