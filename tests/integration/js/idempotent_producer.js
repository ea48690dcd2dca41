// kafkajs idempotent producer (KIP-98) writing numbered records to one
// partition, driven by test_idempotent_clients.py while it kill -9s the
// partition leader:
//
//   node idempotent_producer.js BOOTSTRAP TOPIC RATE OUTFILE
//
// Produces the values "%010d" of 0, 1, 2, ... to partition 0 of TOPIC at
// about RATE records/s with idempotent: true and acks -1 until a line "stop"
// (or end of file) arrives on stdin, then lets the request in flight finish
// and writes OUTFILE, JSON:
//
//   { sent, acked: [[number, ack time ms], ...], failed: [[number, error], ...],
//     errors: {name: count}, error_span: {name: [first ms, last ms]},
//     retried: {message: count}, producers, unfinished }
//
// "acked" are the numbers whose send() resolved, "failed" those whose send()
// was rejected. "retried" counts the errors kafkajs retried by itself (they
// are no failures). Prints "ACKED n" about twice a second and one line
// "RESULT {summary}" at the end. Exit code 0 once OUTFILE is written.
//
// One send() at a time, each a chunk of the records due: kafkajs keeps the
// producer's sequence per partition and, when a request fails, rewinds it
// and sends the whole chunk again with the same sequence. That is only right
// while no later request of the producer is in flight - Kafka's original
// KIP-98 rule max.in.flight.requests.per.connection=1, which kafkajs's
// idempotent producer asks for (it never implemented the five in flight of
// KAFKA-5494) - hence maxInFlightRequests: 1 and awaiting every send.
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, rateArg, outFile] = process.argv.slice(2);
const rate = parseInt(rateArg, 10);
const CHUNK = 50; // records per send() at most
// After "stop", the send in flight gets this long to finish (it retries
// without limit); past it the script writes what it knows and exits.
const STOP_GRACE_MS = 90000;

const state = {
  sent: 0,
  acked: [],
  failed: [],
  errors: {},
  error_span: {},
  retried: {},
  producers: 0,
  unfinished: 0,
};
let stopping = false;

function fmt(n) {
  return String(n).padStart(10, '0');
}

// kafkajs logs every error it retries (ERROR level, "Failed to send
// messages: ..."): counted, with the numbers taken out so alike ones add up.
function logCreator() {
  return ({ namespace, level, log }) => {
    if (level > logLevel.WARN) return;
    const key = `${namespace}: ${String(log.message).replace(/\d+/g, 'N')}`;
    state.retried[key] = (state.retried[key] || 0) + 1;
  };
}

const kafka = new Kafka({
  clientId: 'tern-it-idempotent',
  brokers: bootstrap.split(','),
  logLevel: logLevel.WARN,
  logCreator,
  connectionTimeout: 1000,
  requestTimeout: 30000,
});

// kafka.producer() always hands kafkajs 2.2.4's producer a retry object, so
// its "retries: MAX_SAFE_INTEGER by default when idempotent" never applies
// and it would give up after 5 retries (about 9 s): state it. Short backoffs
// keep a failover (about a second here) from stretching into many.
function newProducer() {
  state.producers++;
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A producer connected to the cluster; a broker may be down right now
// (kill loop), so connecting is retried until it works or "stop" comes.
async function connected() {
  for (;;) {
    const producer = newProducer();
    try {
      await producer.connect();
      return producer;
    } catch (e) {
      const key = `connect: ${String(e && e.message).replace(/\d+/g, 'N')}`;
      state.retried[key] = (state.retried[key] || 0) + 1;
      if (stopping) return null;
      await sleep(200);
    }
  }
}

function writeResult() {
  fs.writeFileSync(outFile, JSON.stringify(state));
  const summary = {
    sent: state.sent,
    acked: state.acked.length,
    failed: state.failed.length,
    errors: state.errors,
    producers: state.producers,
    unfinished: state.unfinished,
  };
  console.log('RESULT ' + JSON.stringify(summary));
}

async function main() {
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    if (d.includes('stop')) stopping = true;
  });
  process.stdin.on('end', () => {
    stopping = true;
  });
  const progress = setInterval(() => console.log(`ACKED ${state.acked.length}`), 500);

  let producer = await connected();
  const t0 = Date.now();
  while (!stopping) {
    const due = Math.floor(((Date.now() - t0) * rate) / 1000) + 1;
    const n = Math.min(CHUNK, due - state.sent);
    if (n <= 0) {
      await sleep(5);
      continue;
    }
    const first = state.sent;
    const messages = [];
    for (let i = first; i < first + n; i++) messages.push({ partition: 0, value: fmt(i) });
    state.sent += n;
    state.unfinished = n;
    try {
      await producer.send({ topic, acks: -1, messages });
      const now = Date.now();
      for (let i = first; i < first + n; i++) state.acked.push([i, now]);
    } catch (e) {
      const now = Date.now();
      const name = (e && (e.type || e.name)) || 'Error';
      const text = String((e && e.message) || e);
      for (let i = first; i < first + n; i++) state.failed.push([i, `${name}: ${text}`]);
      state.errors[name] = (state.errors[name] || 0) + n;
      const span = state.error_span[name] || [now, now];
      state.error_span[name] = [span[0], now];
      // The rejected chunk's sequence numbers were rewound: a fresh
      // producer id starts a new sequence, so the next chunk can never be
      // taken for a retry of this one (which may be in the log already).
      await producer.disconnect().catch(() => {});
      producer = await connected();
    }
    state.unfinished = 0;
  }
  clearInterval(progress);
  if (producer) await producer.disconnect().catch(() => {});
}

let finished = false;
const grace = () =>
  setTimeout(() => {
    if (finished) return;
    finished = true;
    writeResult();
    process.exit(3);
  }, STOP_GRACE_MS).unref();
const watch = setInterval(() => {
  if (stopping) {
    clearInterval(watch);
    grace();
  }
}, 100);

main()
  .then(() => {
    clearInterval(watch);
    if (finished) return;
    finished = true;
    writeResult();
    process.exit(0);
  })
  .catch((err) => {
    state.fatal = String(err && err.stack ? err.stack : err);
    finished = true;
    writeResult();
    process.exit(2);
  });
