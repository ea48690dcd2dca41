// kafkajs round trip against one broker, driven by test_clients.py:
//
//   node roundtrip.js BOOTSTRAP TOPIC CODEC COUNT
//
// Creates TOPIC with the admin API, produces COUNT records with keys and
// headers (CODEC: none | gzip, the codecs kafkajs has built in), consumes
// them back as a member of a consumer group, checks they are byte-identical
// and in order, reads the earliest/latest offsets, deletes the topic, and
// prints one line "RESULT {json}". Exit code 0 when every check passed.
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [bootstrap, topic, codec, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const codecs = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };

// Deterministic content, binary values of varied length (0..299 bytes).
function record(i) {
  const len = (i * 7919) % 300;
  const value = Buffer.alloc(len);
  for (let j = 0; j < len; j++) value[j] = (i * 31 + j * 17) & 0xff;
  return {
    key: Buffer.from(`key-${i}`),
    value,
    headers: { idx: Buffer.from(String(i)), bin: Buffer.from([i & 0xff, (i >> 8) & 0xff, 0, 0xff]) },
  };
}

function sameBytes(a, b) {
  if (a === null || b === null) return a === b;
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

async function main() {
  const result = { produced: 0, consumed: 0, mismatches: [], earliest: null, latest: null, deleted: false };
  const kafka = new Kafka({
    clientId: 'tern-it-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5 },
  });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  if (!created) throw new Error('createTopics returned false (topic existed)');

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const chunk = 500;
  for (let start = 0; start < count; start += chunk) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + chunk); i++) messages.push({ partition: 0, ...record(i) });
    await producer.send({ topic, acks: -1, compression: codecs[codec], messages });
    result.produced += messages.length;
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `g-${topic}`, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${result.consumed}/${count} records`)), 60000);
    // A crash the consumer will not restart from is final: fail now.
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) {
        clearTimeout(timer);
        reject(e.payload.error);
      }
    });
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const i = result.consumed;
          const want = record(i);
          const hdr = message.headers || {};
          const ok =
            partition === 0 &&
            Number(message.offset) === i &&
            sameBytes(message.key, want.key) &&
            sameBytes(message.value, want.value) &&
            Object.keys(hdr).length === 2 &&
            sameBytes(hdr.idx, want.headers.idx) &&
            sameBytes(hdr.bin, want.headers.bin);
          if (!ok && result.mismatches.length < 5) result.mismatches.push({ index: i, offset: message.offset });
          result.consumed++;
          if (result.consumed >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const p0 = offsets.find((o) => o.partition === 0);
  result.earliest = Number(p0.low);
  result.latest = Number(p0.high);

  await admin.deleteTopics({ topics: [topic], timeout: 10000 });
  const left = await admin.listTopics();
  result.deleted = !left.includes(topic);
  await admin.disconnect();

  console.log('RESULT ' + JSON.stringify(result));
  const ok =
    result.produced === count &&
    result.consumed === count &&
    result.mismatches.length === 0 &&
    result.earliest === 0 &&
    result.latest === count &&
    result.deleted;
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.log('RESULT ' + JSON.stringify({ error: String(err && err.stack ? err.stack : err) }));
  process.exit(2);
});
