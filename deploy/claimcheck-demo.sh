#!/usr/bin/env bash
# Large messages through Kafka with Tern's built-in claim-check.
#
#   ./deploy/claimcheck-demo.sh
#
# A 40 MiB value goes through an unmodified Kafka client (kcat) into a topic
# with claimcheck.enable=true: the broker stores the value in an S3 bucket
# (s3rver, started here) and keeps only a small reference in its log;
# consumers get the whole value back. Each step is printed with its command
# and timing, like a tutorial. Exits non-zero at the first failed step.
#
# By default it uses the local cluster (./deploy/cluster.sh, port 9092): it
# starts s3rver, restarts the cluster with claim-check on that bucket
# (cluster.sh passes CLAIMCHECK_* variables to the brokers as claimcheck.*
# settings), runs the demo, then restores the cluster as it was.
#
# Environment:
#   BOOTSTRAP      use this broker as it is, already configured with
#                  claimcheck.backend=s3 on S3_ENDPOINT/S3_BUCKET; neither
#                  s3rver nor the local cluster is touched
#   S3_ENDPOINT    host:port of the bucket's server (with BOOTSTRAP)
#   S3_BUCKET      the bucket (default: bucket)
#   S3_ACCESS_KEY, S3_SECRET_KEY   (default: s3rver's S3RVER / S3RVER)
#   S3_PORT        port for the s3rver started here (default: a free one)
#   TOPIC          (default large-messages)   SIZE  bytes (default 41943040)
#   DEMO_DIR       working directory (default: a new temporary one)
#   DEMO_DATA_DIR  the broker's log.dirs, to show the size of the stored log
#                  (default with the local cluster: .cluster/data-0)
#   DEMO_KEEP=1    leave s3rver, the cluster and the files as they are
#   TERN_BUILD_DIR where tern and tern-broker are (default: build/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${TERN_BUILD_DIR:-$ROOT/build}
TERN="$BUILD/cmd/tern"
PYTHON=/usr/bin/python3

TOPIC=${TOPIC:-large-messages}
SIZE=${SIZE:-41943040}
S3_BUCKET=${S3_BUCKET:-bucket}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-S3RVER}
S3_SECRET_KEY=${S3_SECRET_KEY:-S3RVER}
S3_PORT=${S3_PORT:-}
KEEP=${DEMO_KEEP:-0}

# Client limits for a 40 MiB record (librdkafka's defaults stop at 1 MB).
KCAT_PRODUCE=(-X message.max.bytes=50000000 -X request.required.acks=-1)
KCAT_CONSUME=(-X fetch.message.max.bytes=50000000 -X fetch.max.bytes=60000000
  -X receive.message.max.bytes=100000000)

managed=1 # 1: this script runs s3rver and restarts the local cluster
if [ -n "${BOOTSTRAP:-}" ]; then
  managed=0
  [ -n "${S3_ENDPOINT:-}" ] || { echo "demo: BOOTSTRAP needs S3_ENDPOINT (the bucket the broker uses)" >&2; exit 2; }
else
  BOOTSTRAP=127.0.0.1:9092
  DEMO_DATA_DIR=${DEMO_DATA_DIR:-$ROOT/.cluster/data-0}
fi

step_no=0
current="setup"
s3rver_started=0
s3rver_dir=""
cluster_was_up=0
cluster_restarted=0
made_dir=0
topic_created=0

step() {
  step_no=$((step_no + 1))
  current="$step_no. $*"
  printf '\n\033[1m## %s\033[0m\n\n' "$current"
}
say() { printf '%s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
# run CMD...: prints the command, then runs it.
run() {
  show "$*"
  "$@"
}
die() {
  echo "demo: $*" >&2
  exit 1
}
now_ns() { date +%s%N; }
# rate BYTES START_NS END_NS: "0.41 s, 102.3 MB/s"
rate() {
  awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { t = (e - s) / 1e9; if (t <= 0) t = 1e-9;
    printf "%.2f s, %.1f MB/s", t, b / t / 1e6 }'
}

s3_py() {
  # Bucket listing through boto3 (path style, s3rver's account by default).
  S3_ENDPOINT="$S3_ENDPOINT" S3_BUCKET="$S3_BUCKET" S3_ACCESS_KEY="$S3_ACCESS_KEY" \
    S3_SECRET_KEY="$S3_SECRET_KEY" "$PYTHON" - "$@" <<'EOF'
import os, sys
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="http://" + os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["S3_SECRET_KEY"],
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
prefix = sys.argv[2] if len(sys.argv) > 2 else ""
objs = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=os.environ["S3_BUCKET"], Prefix=prefix):
    objs += page.get("Contents", [])
if sys.argv[1] == "count":
    print(len(objs))
else:
    for o in objs:
        print("%s %8.1f MiB  s3://%s/%s" % (o["LastModified"].strftime("%Y-%m-%d %H:%M:%S"),
                                            o["Size"] / 1048576, os.environ["S3_BUCKET"], o["Key"]))
    print("%d object(s)" % len(objs))
EOF
}

# set_fetch_mode MODE: IncrementalAlterConfigs claimcheck.fetch.mode on the
# topic (the tern CLI has no alter command; kwire speaks the protocol).
set_fetch_mode() {
  "$PYTHON" - "$BOOTSTRAP" "$TOPIC" "$1" <<EOF
import sys
sys.path.insert(0, "$ROOT/tests/integration")
import kwire
bootstrap, topic, mode = sys.argv[1:]
cfg = kwire.array([kwire.string("claimcheck.fetch.mode") + kwire.i8(0) + kwire.string(mode)])
body = kwire.array([kwire.i8(2) + kwire.string(topic) + cfg]) + kwire.boolean(False)
with kwire.Conn(bootstrap) as c:
    r = kwire.Reader(c.request(44, 0, body))
r.i32()
res = r.array(lambda r: (r.i16(), r.string()))
if res[0][0] != 0:
    sys.exit("IncrementalAlterConfigs: error %d %s" % res[0])
EOF
}

cluster_up() {
  "$ROOT/deploy/cluster.sh" up | sed 's/^/  /'
}

cleanup() {
  local rc=$?
  set +e
  if [ $rc -ne 0 ]; then
    printf '\n\033[1;31mdemo FAILED at step %s\033[0m\n' "$current" >&2
  fi
  if [ "$KEEP" = 1 ]; then
    say ""
    say "DEMO_KEEP=1: leaving everything up (files in $DEMO_DIR; s3rver: tests/s3rver.sh stop $DEMO_DIR/s3rver)"
    exit $rc
  fi
  if [ $topic_created = 1 ] && [ $rc -ne 0 ]; then
    "$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "$TOPIC" >/dev/null 2>&1
  fi
  if [ $cluster_restarted = 1 ]; then
    say "restoring the local cluster's own settings"
    "$ROOT/deploy/cluster.sh" down >/dev/null
    if [ $cluster_was_up = 1 ]; then
      unset "${!CLAIMCHECK_@}"
      "$ROOT/deploy/cluster.sh" up >/dev/null ||
        echo "demo: could not restart the local cluster" >&2
    fi
  fi
  if [ $s3rver_started = 1 ]; then
    "$ROOT/tests/s3rver.sh" stop "$s3rver_dir"
  fi
  if [ $made_dir = 1 ]; then
    rm -rf "$DEMO_DIR"
  else
    rm -rf "$DEMO_DIR/s3rver" "$DEMO_DIR/large-message.bin" "$DEMO_DIR/from-kafka.bin" \
      "$DEMO_DIR/ref.txt"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${DEMO_DIR:-}" ]; then
  DEMO_DIR=$(mktemp -d -t tern-claimcheck-demo.XXXXXX)
  made_dir=1
else
  mkdir -p "$DEMO_DIR"
fi
cd "$DEMO_DIR"

# ---------------------------------------------------------------------------
step "The environment"
say "One Tern broker, an S3 bucket, and kcat as an unmodified Kafka client."
for t in kcat "$TERN" "$PYTHON"; do
  command -v "$t" >/dev/null 2>&1 || die "$t not found (./deploy/deps.sh installs the tools; cmake builds tern)"
done
show "kcat -V"
kcat -V 2>&1 | head -n 1 | sed 's/^/  /'
say "broker:  $BOOTSTRAP"
say "workdir: $DEMO_DIR"

# ---------------------------------------------------------------------------
if [ $managed = 1 ]; then
  step "Start an S3 server (s3rver) with a bucket"
  show "S3RVER_BUCKETS=$S3_BUCKET${S3_PORT:+ S3RVER_PORT=$S3_PORT} tests/s3rver.sh start s3rver"
  s3rver_dir="$DEMO_DIR/s3rver"
  S3_ENDPOINT=$(S3RVER_BUCKETS="$S3_BUCKET" S3RVER_PORT="$S3_PORT" "$ROOT/tests/s3rver.sh" start "$s3rver_dir") ||
    die "s3rver did not start (log: $s3rver_dir/s3rver.log)"
  s3rver_started=1
  say "s3rver listening on $S3_ENDPOINT, bucket '$S3_BUCKET', account $S3_ACCESS_KEY"

  # -------------------------------------------------------------------------
  step "Point the local cluster's claim-check at the bucket"
  grep -q 'CLAIMCHECK_' "$ROOT/deploy/cluster.sh" ||
    die "deploy/cluster.sh does not pass CLAIMCHECK_* settings to the brokers yet"
  if "$ROOT/deploy/cluster.sh" status >/dev/null 2>&1; then cluster_was_up=1; fi
  export CLAIMCHECK_BACKEND=s3 CLAIMCHECK_S3_ENDPOINT="$S3_ENDPOINT" CLAIMCHECK_S3_BUCKET="$S3_BUCKET"
  export CLAIMCHECK_S3_ACCESS_KEY="$S3_ACCESS_KEY" CLAIMCHECK_S3_SECRET_KEY="$S3_SECRET_KEY"
  export CLAIMCHECK_S3_PROTOCOL=http CLAIMCHECK_S3_URI_STYLE=path
  show "CLAIMCHECK_BACKEND=s3 CLAIMCHECK_S3_ENDPOINT=$S3_ENDPOINT CLAIMCHECK_S3_BUCKET=$S3_BUCKET \\"
  say "    CLAIMCHECK_S3_ACCESS_KEY=... CLAIMCHECK_S3_SECRET_KEY=... ./deploy/cluster.sh up"
  cluster_restarted=1
  "$ROOT/deploy/cluster.sh" down >/dev/null
  cluster_up
fi

# ---------------------------------------------------------------------------
step "Create the topic '$TOPIC' with claim-check on"
say "Values of at least claimcheck.threshold.bytes (1 MiB by default) go to the bucket."
if "$TERN" topics --bootstrap-server "$BOOTSTRAP" --describe --topic "$TOPIC" >/dev/null 2>&1; then
  say "(a '$TOPIC' topic from an earlier run exists: deleting it first)"
  "$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "$TOPIC" >/dev/null
  for _ in $(seq 1 50); do
    "$TERN" topics --bootstrap-server "$BOOTSTRAP" --describe --topic "$TOPIC" >/dev/null 2>&1 || break
    sleep 0.2
  done
fi
run "$TERN" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$TOPIC" \
  --partitions 1 --replication-factor 1 --config claimcheck.enable=true
topic_created=1

# ---------------------------------------------------------------------------
step "Make a large message"
show "head -c $SIZE /dev/urandom > large-message.bin"
head -c "$SIZE" /dev/urandom >large-message.bin
run ls -lh large-message.bin
sha=$(sha256sum large-message.bin | cut -d' ' -f1)
say "sha256 $sha"

# ---------------------------------------------------------------------------
step "Send it through Kafka with kcat (one file = one record)"
t0=$(now_ns)
run kcat -P -b "$BOOTSTRAP" -t "$TOPIC" -p 0 "${KCAT_PRODUCE[@]}" large-message.bin
t1=$(now_ns)
say "produced $SIZE bytes: $(rate "$SIZE" "$t0" "$t1")"

# ---------------------------------------------------------------------------
step "Read it back"
t0=$(now_ns)
show "kcat -C -b $BOOTSTRAP -t $TOPIC -p 0 -o beginning -c 1 -e -q -f '%s' ${KCAT_CONSUME[*]} > from-kafka.bin"
kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -p 0 -o beginning -c 1 -e -q -f '%s' "${KCAT_CONSUME[@]}" >from-kafka.bin
t1=$(now_ns)
say "consumed $(stat -c %s from-kafka.bin) bytes: $(rate "$(stat -c %s from-kafka.bin)" "$t0" "$t1")"

# ---------------------------------------------------------------------------
step "Compare the files"
run ls -l large-message.bin from-kafka.bin
run cmp large-message.bin from-kafka.bin
say "identical: the consumer got the $SIZE bytes the producer sent"

# ---------------------------------------------------------------------------
step "Look inside the bucket"
show "aws s3 ls s3://$S3_BUCKET --recursive   (here: boto3 against $S3_ENDPOINT)"
s3_py list | sed 's/^/  /'
key="$TOPIC/0/$sha"
[ "$(s3_py count "$key")" = 1 ] || die "object $key is not in the bucket"
say "the object's key is <topic>/<partition>/<sha256 of the value>: $key"

# ---------------------------------------------------------------------------
step "What the log stores: a reference"
if [ -n "${DEMO_DATA_DIR:-}" ] && [ -d "$DEMO_DATA_DIR/$TOPIC-0" ]; then
  run du -b "$DEMO_DATA_DIR/$TOPIC-0/"*.log
fi
say "With claimcheck.fetch.mode=reference a consumer sees the stored record:"
say "an empty value and three headers after the record's own."
show "(IncrementalAlterConfigs $TOPIC claimcheck.fetch.mode=reference)"
set_fetch_mode reference
show "kcat -C -b $BOOTSTRAP -t $TOPIC -p 0 -o beginning -c 1 -e -q -f 'value: %S bytes\\nheaders: %h\\n'"
kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -p 0 -o beginning -c 1 -e -q -f 'value: %S bytes\nheaders: %h\n' | tee ref.txt |
  sed 's/^/  /'
grep -q "claimcheck.sha256=$sha" ref.txt || die "the stored record does not reference sha256 $sha"
set_fetch_mode value

# ---------------------------------------------------------------------------
step "Delete the topic: its objects go with it"
t0=$(now_ns)
run "$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "$TOPIC"
topic_created=0
left=1
for _ in $(seq 1 100); do
  left=$(s3_py count "$TOPIC/")
  [ "$left" = 0 ] && break
  sleep 0.2
done
[ "$left" = 0 ] || die "$left object(s) of $TOPIC still in the bucket after the topic was deleted"
say "the bucket holds no object of $TOPIC any more ($(rate 0 "$t0" "$(now_ns)" | cut -d, -f1))"

printf '\n\033[1mdemo passed\033[0m: %s bytes through Kafka, stored once in s3://%s, returned identical\n' \
  "$SIZE" "$S3_BUCKET"
