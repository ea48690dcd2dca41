#!/usr/bin/env bash
# The classic Kafka failover lab, replayed against a three-node Tern cluster
# and checked: no acknowledged record is lost when the partition leader dies.
#
#   ./deploy/failover-demo.sh
#
#   1. the cluster (deploy/cluster.sh: a running one is reused, else started)
#   2. my-failsafe-topic: 1 partition, replication factor 3,
#      min.insync.replicas=2
#   3. a producer (acks=all, numbered records; every acknowledgement is
#      written down) and a consumer (from the beginning) in the background
#   4. `tern topics --describe`: the leader, and all three in the Isr
#   5. kill -9 the leader: another replica leads, the Isr loses the dead one
#   6. produce on with a node down, restart it, wait until it is back in the Isr
#   7. stop the producer, let the consumer catch up, and compare: every
#      acknowledged record consumed, in the order it was produced
#
# Each step prints a heading, the command it runs and its output. The last
# lines are the summary ("RESULT: PASS" / "RESULT: FAIL ...", and one
# "SUMMARY key=value ..." line for scripts). Exits non-zero when an
# acknowledged record is missing or out of order, or when a step does not
# happen within STEP_TIMEOUT.
#
# Environment:
#   TERN_CLUSTER_DIR, TERN_BASE_PORT, TERN_CONTROLLER_BASE_PORT, TERN_BROKERS,
#   TERN_BUILD_DIR   as for deploy/cluster.sh (the cluster to reuse or start)
#   KEEP_CLUSTER=1   leave a cluster this script started running at exit (a
#                    cluster that was running before is always left running)
#   TOPIC            (default my-failsafe-topic; an existing one is deleted first)
#   STEP_TIMEOUT     seconds a step may take (default 30)
#   REJOIN_TIMEOUT   seconds the restarted node may take to rejoin the Isr
#                    (default 60: the leader reconsiders its Isr every
#                    replica.lag.time.max.ms / 2, 15 s by default)
#   DOWN_SECONDS     seconds to keep producing while the old leader is down (3)
#   DEMO_DIR         working directory for the clients' files (default: a new
#                    temporary one, removed after a passing run)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER="$ROOT/deploy/cluster.sh"
BUILD=${TERN_BUILD_DIR:-$ROOT/build}
TERN="$BUILD/cmd/tern"
PYTHON=${PYTHON:-/usr/bin/python3}
TOPIC=${TOPIC:-my-failsafe-topic}
STEP_TIMEOUT=${STEP_TIMEOUT:-30}
REJOIN_TIMEOUT=${REJOIN_TIMEOUT:-60}
DOWN_SECONDS=${DOWN_SECONDS:-3}
KEEP_CLUSTER=${KEEP_CLUSTER:-0}
MIN_ACKED=200     # acknowledged records before the leader is killed
MIN_ACKED_DOWN=50 # acknowledged records after the new leader took over

# The ports cluster.sh will use: the environment, else what the state
# directory recorded at its first `up`, else cluster.sh's defaults.
STATE=${TERN_CLUSTER_DIR:-$ROOT/.cluster}
COUNT=3 BASE_PORT=9092
if [ -f "$STATE/cluster.layout" ]; then
  # shellcheck disable=SC1091
  . "$STATE/cluster.layout"
fi
COUNT=${TERN_BROKERS:-$COUNT}
BASE_PORT=${TERN_BASE_PORT:-$BASE_PORT}

port_of() { echo $((BASE_PORT + $1)); }
BOOTSTRAP=$(for i in $(seq 0 $((COUNT - 1))); do printf '127.0.0.1:%s,' "$(port_of "$i")"; done | sed 's/,$//')

if [ -t 1 ]; then BOLD=$'\033[1m' RED=$'\033[1;31m' GREEN=$'\033[1;32m' OFF=$'\033[0m'; else BOLD='' RED='' GREEN='' OFF=''; fi

step_no=0
current="setup"
cluster_started=0 # 1: this script ran `cluster.sh up` on a stopped cluster
victim=""         # the node killed in step 5 ...
victim_down=0     # ... while it is down
producer_pid=""
consumer_pid=""
made_dir=0
verified=0

step() {
  step_no=$((step_no + 1))
  current="$step_no. $*"
  printf '\n%s## %s%s\n\n' "$BOLD" "$current" "$OFF"
}
say() { printf '%s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
indent() { sed 's/^/    /'; }
die() {
  echo "failover-demo: $*" >&2
  exit 1
}
acked_count() { if [ -f "$DEMO_DIR/acked.txt" ]; then wc -l <"$DEMO_DIR/acked.txt"; else echo 0; fi; }

# wait_until WHAT CMD...: runs CMD every 0.3 s until it succeeds; fails the
# step when WAIT_TIMEOUT (default STEP_TIMEOUT) seconds pass first.
wait_until() {
  local what=$1 limit=${WAIT_TIMEOUT:-$STEP_TIMEOUT}
  local deadline=$((SECONDS + limit))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what: not within ${limit}s"
    sleep 0.3
  done
}

# describe NODE: `tern topics --describe` asked of node NODE; sets DESCRIBED
# (the output), LEADER and ISR (of partition 0). False when it did not answer.
DESCRIBED="" LEADER="" ISR=""
describe() {
  DESCRIBED=$(timeout 15 "$TERN" topics --bootstrap-server "127.0.0.1:$(port_of "$1")" --describe \
    --topic "$TOPIC" 2>&1) || return 1
  read -r LEADER ISR < <(printf '%s\n' "$DESCRIBED" | awk -F'\t' '/\tPartition: 0\t/ {
      for (i = 1; i <= NF; i++) { if ($i ~ /^Leader: /) l = substr($i, 9); if ($i ~ /^Isr: /) s = substr($i, 6) } }
    END { print (l == "" ? "none" : l), (s == "" ? "-" : s) }')
}
show_describe() {
  show "tern topics --bootstrap-server 127.0.0.1:$(port_of "$1") --describe --topic $TOPIC"
  printf '%s\n' "$DESCRIBED" | indent
}
in_isr() { case ",$ISR," in *",$1,"*) return 0 ;; esac; return 1; }
isr_size() { printf '%s\n' "$ISR" | awk -F, '{ print ($0 == "-" ? 0 : NF) }'; }

# Predicates for wait_until.
full_isr() { describe "$1" && [ "$LEADER" != none ] && [ "$(isr_size)" -eq 3 ]; }
new_leader() { # new_leader ASKED OLD
  describe "$1" && [ "$LEADER" != none ] && [ "$LEADER" != "$2" ] && ! in_isr "$2"
}
back_in_isr() { describe "$1" && [ "$LEADER" != none ] && in_isr "$2"; }
acked_at_least() { [ "$(acked_count)" -ge "$1" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    gone "$pid" && break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  [ -z "$producer_pid" ] || stop_pid "$producer_pid"
  [ -z "$consumer_pid" ] || stop_pid "$consumer_pid"
  if [ $rc -ne 0 ]; then
    if [ $verified = 0 ]; then
      # A step failed before the records were compared.
      printf '\n%sRESULT: FAIL%s at step %s\n' "$RED" "$OFF" "$current"
      echo "SUMMARY result=FAIL step=$step_no acknowledged=$(acked_count 2>/dev/null || echo 0)"
    fi
    for f in producer.log consumer.log; do
      if [ -s "${DEMO_DIR:-/nonexistent}/$f" ]; then
        # The clients' own lines; librdkafka's connection log ("%3|...") is in the file.
        say "--- last lines of $DEMO_DIR/$f"
        grep -v '^%[0-9]|' "$DEMO_DIR/$f" | tail -n 15
      fi
    done
  fi
  local stopping=0
  [ $cluster_started = 1 ] && [ "$KEEP_CLUSTER" != 1 ] && stopping=1
  if [ $victim_down = 1 ] && [ $stopping = 0 ]; then
    # The cluster stays: give it back with every node running.
    say "restarting node $victim"
    "$CLUSTER" start "$victim" >/dev/null || echo "failover-demo: could not restart node $victim" >&2
  fi
  if [ $stopping = 1 ]; then
    say ""
    show "deploy/cluster.sh down"
    "$CLUSTER" down | indent
  elif [ $cluster_started = 1 ]; then
    say "KEEP_CLUSTER=1: the cluster keeps running (deploy/cluster.sh down stops it)"
  fi
  if [ $made_dir = 1 ] && [ $rc -eq 0 ]; then
    rm -rf "$DEMO_DIR"
  elif [ -n "${DEMO_DIR:-}" ]; then
    say "the clients' files are in $DEMO_DIR"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${DEMO_DIR:-}" ]; then
  DEMO_DIR=$(mktemp -d -t tern-failover-demo.XXXXXX)
  made_dir=1
else
  mkdir -p "$DEMO_DIR"
  rm -f "$DEMO_DIR"/{acked,failed,consumed}.txt "$DEMO_DIR"/{producer,consumer}.{log,stop}
fi

# The clients: confluent-kafka (librdkafka), as an application would use it.
cat >"$DEMO_DIR/clients.py" <<'EOF'
import os, signal, sys, time
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

stopping = False
def on_term(signum, frame):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, on_term)

def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)

def brokers(bootstrap, want, timeout):
    """Waits until Metadata lists `want` brokers (all registered and unfenced)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        try:
            seen = sorted(admin.list_topics(timeout=5).brokers)
        except KafkaException:
            seen = []
        if len(seen) >= want:
            print(",".join(map(str, seen)))
            return 0
        time.sleep(0.3)
    print("brokers in Metadata: %s" % (seen or "none"), file=sys.stderr)
    return 1

def produce(bootstrap, topic, acked_path, failed_path, stop_path, flush_timeout, rate=500):
    """Numbered records 00000000, 00000001, ... `rate` a second, until
    stop_path exists; each acknowledged value is appended to acked_path the
    moment its delivery report arrives, each failed one to failed_path."""
    acked = open(acked_path, "a")
    failed = open(failed_path, "a")
    counts = {"acked": 0, "failed": 0}

    def on_delivery(err, msg):
        if err is None:
            acked.write(msg.value().decode() + "\n")
            counts["acked"] += 1
        else:
            failed.write("%s %s\n" % (msg.value().decode(), err.str()))
            counts["failed"] += 1
            log("not acknowledged:", msg.value().decode(), err.str())

    p = Producer({
        "bootstrap.servers": bootstrap,
        # The lab's producer: wait for every in-sync replica.
        "acks": "all",
        # No idempotence (the broker grants no producer ids): a batch retried
        # after a lost response may be stored twice. One request in flight
        # keeps retries in order, as Kafka advises for a non-idempotent
        # producer that needs ordering.
        "enable.idempotence": False,
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    })
    n = 0
    t0 = time.monotonic()
    while not stopping and not os.path.exists(stop_path):
        due = int((time.monotonic() - t0) * rate)
        while n < due:
            try:
                p.produce(topic, value=b"%08d" % n, on_delivery=on_delivery)
                n += 1
            except BufferError:
                p.poll(0.1)
        p.poll(0.01)
        acked.flush()
        failed.flush()
    left = p.flush(flush_timeout)
    acked.close()
    failed.close()
    log("producer: sent %d, acknowledged %d, failed %d, unresolved %d" % (n, counts["acked"], counts["failed"], left))
    return 0

def consume(bootstrap, topic, out_path, stop_path, catchup_timeout):
    """Reads partition 0 from the beginning and appends "offset value" lines
    to out_path. Once stop_path exists, reads on up to the high watermark of
    that moment, then exits."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "failover-demo-checker",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    tp = TopicPartition(topic, 0)
    c.assign([TopicPartition(topic, 0, -2)])  # OFFSET_BEGINNING
    out = open(out_path, "a")
    nxt = 0
    target = None
    deadline = None
    while True:
        if target is None and (stopping or os.path.exists(stop_path)):
            target = c.get_watermark_offsets(tp, timeout=10, cached=False)[1]
            deadline = time.time() + catchup_timeout
            log("consumer: catching up to the high watermark %d (at %d)" % (target, nxt))
        if target is not None and (nxt >= target or time.time() > deadline):
            break
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            log("consumer:", m.error().str())
            continue
        out.write("%d %s\n" % (m.offset(), m.value().decode()))
        nxt = m.offset() + 1
        out.flush()
    out.close()
    c.close()
    if nxt < target:
        log("consumer: stopped at offset %d, below the high watermark %d" % (nxt, target))
        return 3
    log("consumer: caught up, next offset %d" % nxt)
    return 0

def verify(acked_path, consumed_path, failed_path, consumer_rc):
    caught_up = consumer_rc == "0"
    acked = [int(l) for l in open(acked_path) if l.strip()]
    consumed = []
    for line in open(consumed_path):
        f = line.split()
        if len(f) == 2:
            consumed.append(int(f[1]))
    failed = sum(1 for l in open(failed_path) if l.strip())
    first = {}
    for i, v in enumerate(consumed):
        first.setdefault(v, i)
    missing = [v for v in acked if v not in first]
    # The producer makes records in number order with one request in flight,
    # so their first appearances in the log must be in that order too.
    out_of_order = []
    last = -1
    for v in sorted(set(acked)):
        if v in first:
            if first[v] < last:
                out_of_order.append(v)
            last = max(last, first[v])
    duplicates = len(consumed) - len(first)
    unacked = len(set(first) - set(acked))
    ok = bool(acked) and not missing and not out_of_order and caught_up
    print("records: acknowledged %d, consumed %d (%d distinct), missing %d, out of order %d"
          % (len(acked), len(consumed), len(first), len(missing), len(out_of_order)))
    print("         duplicates %d (a retried batch, legitimate without idempotence),"
          " consumed but never acknowledged %d, failed sends %d" % (duplicates, unacked, failed))
    if missing:
        print("missing (first 20):", " ".join("%08d" % v for v in missing[:20]))
    if out_of_order:
        print("out of order (first 20):", " ".join("%08d" % v for v in out_of_order[:20]))
    if not acked:
        print("no record was acknowledged: nothing was checked")
    if not caught_up:
        print("the consumer did not reach the high watermark (see consumer.log)")
    print("SUMMARY result=%s acknowledged=%d consumed=%d distinct=%d missing=%d out_of_order=%d duplicates=%d"
          " unacknowledged_consumed=%d failed=%d"
          % ("PASS" if ok else "FAIL", len(acked), len(consumed), len(first), len(missing), len(out_of_order),
             duplicates, unacked, failed))
    return 0 if ok else 1

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "brokers":
        sys.exit(brokers(args[0], int(args[1]), float(args[2])))
    if cmd == "produce":
        sys.exit(produce(args[0], args[1], args[2], args[3], args[4], float(args[5])))
    if cmd == "consume":
        sys.exit(consume(args[0], args[1], args[2], args[3], float(args[4])))
    if cmd == "verify":
        sys.exit(verify(*args))
    sys.exit("unknown command " + cmd)
EOF
# (The background clients are started without this function, so that $! is
# the python process itself, which cleanup can stop.)
clients() { "$PYTHON" "$DEMO_DIR/clients.py" "$@"; }

# ---------------------------------------------------------------------------
step "The cluster: $COUNT Tern brokers on $BOOTSTRAP"
[ "$COUNT" -ge 3 ] || die "the lab needs three brokers (TERN_BROKERS=$COUNT)"
"$PYTHON" -c 'import confluent_kafka' 2>/dev/null ||
  die "$PYTHON cannot import confluent_kafka (./deploy/deps.sh installs python3-confluent-kafka)"
show "deploy/cluster.sh status"
if status=$("$CLUSTER" status 2>&1); then
  printf '%s\n' "$status" | indent
  say "A cluster is running on these ports: the demo uses it and leaves it running."
else
  printf '%s\n' "$status" | indent
  live=$(printf '%s\n' "$status" | awk '$1 ~ /^[0-9]+$/ && $2 != "down"' | wc -l)
  show "deploy/cluster.sh up"
  "$CLUSTER" up | indent
  if [ "$live" -eq 0 ]; then
    cluster_started=1
    if [ "$KEEP_CLUSTER" = 1 ]; then
      say "(KEEP_CLUSTER=1: it keeps running after the demo)"
    else
      say "(started here: stopped again at the end; KEEP_CLUSTER=1 keeps it)"
    fi
  fi
fi
[ -x "$TERN" ] || die "no tern CLI at $TERN (TERN_BUILD_DIR)"
say "Waiting until Metadata lists all $COUNT brokers (registered, not fenced) ..."
brokers=$(clients brokers "$BOOTSTRAP" "$COUNT" "$STEP_TIMEOUT") ||
  die "not all $COUNT brokers registered within ${STEP_TIMEOUT}s"
say "brokers: $brokers"

# ---------------------------------------------------------------------------
step "Create '$TOPIC': 1 partition, 3 replicas, min.insync.replicas=2"
say "With acks=all a write is acknowledged once every in-sync replica has it, and"
say "refused (NOT_ENOUGH_REPLICAS) when fewer than 2 replicas are in sync."
if describe 0 || describe 1 || describe 2; then
  say "(a '$TOPIC' topic from an earlier run exists: deleting it first)"
  run_delete=("$TERN" topics --bootstrap-server "$BOOTSTRAP" --delete --topic "$TOPIC")
  show "${run_delete[*]}"
  "${run_delete[@]}" | indent
  topic_gone() { ! describe 0 && ! describe 1 && ! describe 2; }
  wait_until "the old topic's deletion" topic_gone
fi
show "tern topics --bootstrap-server $BOOTSTRAP --create --topic $TOPIC --partitions 1 --replication-factor 3 --config min.insync.replicas=2"
timeout 30 "$TERN" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$TOPIC" \
  --partitions 1 --replication-factor 3 --config min.insync.replicas=2 | indent

# ---------------------------------------------------------------------------
step "Start a producer (acks=all) and a consumer (from the beginning)"
say "Both are confluent-kafka (librdkafka) clients running in the background."
say "The producer sends numbered records, 500 a second, and writes down"
say "every record whose acknowledgement arrived; the consumer writes down what it reads."
show "python3 clients.py produce $BOOTSTRAP $TOPIC acked.txt failed.txt producer.stop &"
"$PYTHON" "$DEMO_DIR/clients.py" produce "$BOOTSTRAP" "$TOPIC" "$DEMO_DIR/acked.txt" "$DEMO_DIR/failed.txt" "$DEMO_DIR/producer.stop" \
  "$STEP_TIMEOUT" 2>"$DEMO_DIR/producer.log" &
producer_pid=$!
show "python3 clients.py consume $BOOTSTRAP $TOPIC consumed.txt consumer.stop &"
"$PYTHON" "$DEMO_DIR/clients.py" consume "$BOOTSTRAP" "$TOPIC" "$DEMO_DIR/consumed.txt" "$DEMO_DIR/consumer.stop" \
  "$STEP_TIMEOUT" 2>"$DEMO_DIR/consumer.log" &
consumer_pid=$!
producer_alive() { ! gone "$producer_pid" || die "the producer exited (see $DEMO_DIR/producer.log)"; }
acked_running() { producer_alive && acked_at_least "$1"; }
wait_until "$MIN_ACKED acknowledged records" acked_running "$MIN_ACKED"
say "acknowledged so far: $(acked_count)"

# ---------------------------------------------------------------------------
step "Describe the topic: who leads, who is in sync"
wait_until "a leader and all 3 replicas in the Isr" full_isr 0
show_describe 0
old_leader=$LEADER
say "Leader: node $old_leader; Isr: $ISR (all 3 replicas in sync)"

# ---------------------------------------------------------------------------
step "kill -9 the leader, node $old_leader"
acked_before_kill=$(acked_count)
show "deploy/cluster.sh kill $old_leader"
victim=$old_leader
"$CLUSTER" kill "$old_leader" | indent
victim_down=1
say "acknowledged before the kill: $acked_before_kill"
ask=0
[ "$ask" != "$old_leader" ] || ask=1
say "The controller fences node $old_leader when its heartbeats stop"
say "(broker.session.timeout.ms) and makes another in-sync replica the leader."
t0=$SECONDS
wait_until "a new leader without node $old_leader in the Isr" new_leader "$ask" "$old_leader"
show_describe "$ask"
new_leader_id=$LEADER
say "Leader: node $new_leader_id (was $old_leader), Isr: $ISR (within $((SECONDS - t0 + 1))s)"

# ---------------------------------------------------------------------------
step "Produce on with node $old_leader down, then restart it"
acked_at_takeover=$(acked_count)
say "Two replicas in sync still satisfy min.insync.replicas=2: acks=all goes on."
sleep "$DOWN_SECONDS"
wait_until "$MIN_ACKED_DOWN acknowledgements from the new leader" acked_running $((acked_at_takeover + MIN_ACKED_DOWN))
acked_while_down=$(($(acked_count) - acked_before_kill))
say "acknowledged while node $old_leader was down: $acked_while_down (total $(acked_count))"
show "deploy/cluster.sh start $old_leader"
"$CLUSTER" start "$old_leader" | indent
victim_down=0
say "Node $old_leader truncates what the new leader does not have, fetches the rest,"
say "and rejoins the Isr once it reaches the high watermark."
t0=$SECONDS
WAIT_TIMEOUT=$REJOIN_TIMEOUT wait_until "node $old_leader back in the Isr" back_in_isr "$ask" "$old_leader"
show_describe "$ask"
say "Leader: node $LEADER, Isr: $ISR: node $old_leader is back in sync (within $((SECONDS - t0 + 1))s)"

# ---------------------------------------------------------------------------
step "Stop the producer, let the consumer catch up, compare"
show "touch producer.stop; wait"
touch "$DEMO_DIR/producer.stop"
wait_until "the producer's last acknowledgements" gone "$producer_pid"
wait "$producer_pid" || die "the producer failed (see $DEMO_DIR/producer.log)"
producer_pid=""
tail -n 1 "$DEMO_DIR/producer.log" | indent
show "touch consumer.stop; wait"
touch "$DEMO_DIR/consumer.stop"
consumer_rc=0
wait_until "the consumer's catching up" gone "$consumer_pid"
wait "$consumer_pid" || consumer_rc=$?
consumer_pid=""
tail -n 1 "$DEMO_DIR/consumer.log" | indent

printf '\n%s## Summary%s\n\n' "$BOLD" "$OFF"
say "leader: node $old_leader killed with $acked_before_kill records acknowledged; node $new_leader_id took over;"
say "        $acked_while_down more acknowledged while node $old_leader was down; node $old_leader rejoined the Isr"
verify_rc=0
clients verify "$DEMO_DIR/acked.txt" "$DEMO_DIR/consumed.txt" "$DEMO_DIR/failed.txt" "$consumer_rc" ||
  verify_rc=$?
verified=1
if [ $verify_rc -ne 0 ]; then
  printf '%sRESULT: FAIL%s: see above\n' "$RED" "$OFF"
  exit 1
fi
printf '%sRESULT: PASS%s: every acknowledged record survived the leader'"'"'s kill -9, in order\n' "$GREEN" "$OFF"
