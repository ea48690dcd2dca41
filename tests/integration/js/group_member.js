// One kafkajs member of a consumer group, driven by test_group_clients.py:
//
//   node group_member.js BOOTSTRAP TOPIC GROUP NAME EVENTS_FILE SESSION_TIMEOUT_MS [STOP_AFTER]
//
// Subscribes to TOPIC as a member of GROUP (earliest offset when the group
// has none committed), and for every record: logs it, commits offset+1
// synchronously, logs the outcome. Auto-commit is off, so what the group has
// committed is exactly what this member finished processing.
//
// EVENTS_FILE receives one JSON object a line, appended synchronously so that
// a kill -9 loses at most the line being written:
//   {"ev":"assign","parts":[...]}     after every JoinGroup+SyncGroup
//   {"ev":"revoke"}                   a rebalance began (before rejoining)
//   {"ev":"rec","p":P,"o":O}          record P/O processed
//   {"ev":"commit","p":P,"o":O+1}     its offset committed
//   {"ev":"commitfail","p":P,"o":O+1,"err":...}
//   {"ev":"closed"}                   left the group (consumer.disconnect())
// each with "m" (NAME) and "t" (seconds since the epoch).
//
// SIGTERM closes cleanly: the consumer sends LeaveGroup. With STOP_AFTER > 0
// the member closes by itself after processing that many records.
'use strict';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, groupId, name, eventsPath, sessionArg, stopAfterArg] = process.argv.slice(2);
const sessionTimeout = parseInt(sessionArg, 10);
const stopAfter = parseInt(stopAfterArg || '0', 10);

function emit(ev, fields) {
  const line = JSON.stringify(Object.assign({ ev, m: name, t: Date.now() / 1000 }, fields || {}));
  fs.appendFileSync(eventsPath, line + '\n');
}

async function main() {
  const kafka = new Kafka({
    clientId: name,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 10 },
  });
  // maxWaitTimeInMs well under the session timeout: kafkajs heartbeats
  // between fetches, so a long fetch wait would let the session expire.
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout,
    rebalanceTimeout: Math.max(30000, sessionTimeout),
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 500,
    retry: { retries: 10 },
  });

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    emit('assign', { parts, member_id: e.payload.memberId });
  });
  consumer.on(consumer.events.REBALANCING, () => emit('revoke'));
  consumer.on(consumer.events.CRASH, (e) =>
    emit('crash', { err: String(e.payload.error), restart: Boolean(e.payload.restart) })
  );

  let stopping = false;
  const stop = async (reason) => {
    if (stopping) return;
    stopping = true;
    await consumer.disconnect();
    emit('closed', { reason });
    process.exit(0);
  };
  const stopOrFail = (reason) =>
    stop(reason).catch((err) => {
      emit('error', { err: String(err && err.stack ? err.stack : err) });
      process.exit(3);
    });
  process.on('SIGTERM', () => stopOrFail('SIGTERM'));

  let processed = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const o = Number(message.offset);
      emit('rec', { p: partition, o });
      try {
        await consumer.commitOffsets([{ topic, partition, offset: String(o + 1) }]);
      } catch (err) {
        emit('commitfail', { p: partition, o: o + 1, err: String(err) });
        // Rethrown: kafkajs rejoins on a rebalance error and hands the
        // record out again if this member keeps the partition.
        throw err;
      }
      emit('commit', { p: partition, o: o + 1 });
      processed++;
      if (stopAfter > 0 && processed >= stopAfter) {
        // Pausing makes the runner stop after this record, so exactly
        // STOP_AFTER records are processed before the member leaves.
        consumer.pause([{ topic }]);
        setImmediate(() => stopOrFail('count'));
      }
    },
  });
  emit('running');
}

main().catch((err) => {
  emit('error', { err: String(err && err.stack ? err.stack : err) });
  process.exit(2);
});
