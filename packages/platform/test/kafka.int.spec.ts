import { randomUUID } from 'node:crypto';
import { makeEvent, type EventOf } from '@hookpost/contracts';
import { ConfigResourceTypes, KafkaJSNonRetriableError } from 'kafkajs';
import { consumerConfig, createKafka, decodeEvent, ensureTopics, KafkaEventLog, runKeptRunning, startConcurrentConsumer } from '../src/kafka';
import { createLogger } from '../src/logger';

const log = createLogger('test', 'warn');
const kafka = createKafka('hookpost-int', (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), log);
const topic = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.events`;
const admin = kafka.admin();
const eventLog = new KafkaEventLog(kafka);

function received(n: number): EventOf<'WebhookReceived'> {
  return makeEvent(
    'WebhookReceived',
    { delivery_id: randomUUID(), subscription_id: randomUUID(), event_type: 'a.b', payload: { n }, received_at: new Date().toISOString() },
    { now: () => new Date(), newId: randomUUID },
  );
}

/** The keys of every message in `name`, read from the start. */
async function readKeys(name: string): Promise<string[]> {
  const ends = await admin.fetchTopicOffsets(name);
  const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const consumer = kafka.consumer({ groupId: `${name}.reader.${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  const keys: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        keys.push(message.key?.toString() ?? '');
        if (keys.length >= total) resolve();
      },
    });
    if (total === 0) resolve();
  });
  await consumer.disconnect();
  return keys;
}

beforeAll(async () => {
  await admin.connect();
  await ensureTopics(admin, [topic], 1);
  await ensureTopics(admin, [topic], 1); // idempotent
  await eventLog.connect();
});

afterAll(async () => {
  await eventLog.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});

describe('KafkaEventLog and the concurrent consumer (real Kafka)', () => {
  it('makes its topics fsync every append, on creation and on a topic made before, keeping its other settings', async () => {
    const fresh = `${topic}.durable`;
    const older = `${topic}.older`;
    await admin.createTopics({ topics: [{ topic: older, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'max.message.bytes', value: '2000000' }] }] });
    await ensureTopics(admin, [fresh, older], 1, 1);
    const described = await admin.describeConfigs({
      resources: [fresh, older].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['flush.messages', 'retention.ms', 'max.message.bytes'] })),
      includeSynonyms: false,
    });
    const settings = Object.fromEntries(described.resources.map((r) => [r.resourceName, Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]))]));
    expect(settings[fresh]).toMatchObject({ 'flush.messages': '1', 'retention.ms': '-1' });
    expect(settings[older]).toMatchObject({ 'flush.messages': '1', 'retention.ms': '-1', 'max.message.bytes': '2000000' });
    await admin.deleteTopics({ topics: [fresh, older] });
  });

  it('creates topics with the replication factor it is given (one broker here cannot hold two replicas)', async () => {
    const replicated = `${topic}.replicated`;
    await expect(ensureTopics(admin, [replicated], 1, 0, 2)).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICATION_FACTOR' })] });
    expect(await admin.listTopics()).not.toContain(replicated);
  });

  it('never writes an append it refused: a full queue fails at once, a queued append past its time is dropped', async () => {
    // Given a log whose producer is busy with a send Kafka keeps refusing (a topic that does not exist)
    const own = `${topic}.refusals`;
    await ensureTopics(admin, [own], 1);
    const busyLog = new KafkaEventLog(kafka, 2, 'answeringRequests');
    await busyLog.connect();
    const missing = `${topic}.missing`;
    const stuck = busyLog.append([{ topic: missing, key: 'k', event: received(-1) }], { timeoutMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 20));

    // When two more appends queue behind it, past the queue's bound, and the one queued times out
    const started = Date.now();
    const queued = busyLog.append([{ topic: own, key: 'queued', event: received(-2) }], { timeoutMs: 200 });
    const overflow = busyLog.append([{ topic: own, key: 'a', event: received(-3) }, { topic: own, key: 'b', event: received(-4) }], { timeoutMs: 5_000 });

    // Then the overflow is refused at once and the queued one once its time is up, while the stuck send goes on
    await expect(overflow).rejects.toThrow('events waiting to be sent');
    await expect(queued).rejects.toThrow('not sent within 200 ms');
    expect(Date.now() - started).toBeLessThan(1_000);
    // and the send in flight is answered within twice its time, though Kafka has not answered it yet
    await expect(stuck).rejects.toThrow('no acknowledgement from Kafka within 600 ms');
    // and neither ever reaches the log, even after the producer is free again
    await busyLog.append([{ topic: own, key: 'after', event: received(-5) }], { timeoutMs: 5_000 });
    await busyLog.disconnect();
    const keys = await readKeys(own);
    await admin.deleteTopics({ topics: [own] });
    expect(keys).toContain('after');
    expect(keys).not.toContain('queued');
    expect(keys).not.toContain('a');
  });

  it('refuses an invalid event before it reaches the log', async () => {
    const bad = { ...received(0), data: { nope: true } } as unknown as EventOf<'WebhookReceived'>;
    expect(() => eventLog.append([{ topic, key: 'k', event: bad }])).toThrow('WebhookReceived data is invalid');
  });

  it('appends concurrent callers in coalesced batches, each acknowledged, and never commits past an unfinished message', async () => {
    // Given 60 events appended by 60 concurrent callers
    const events = Array.from({ length: 60 }, (_, n) => received(n));
    await Promise.all(events.map((event) => eventLog.append([{ topic, key: event.data.subscription_id, event }])));
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(Number(offsets[0]!.high)).toBe(60);

    // When a consumer handles them 8 at a time, and the handler of n = 20 fails
    const handled = new Set<number>();
    const groupId = `${topic}.group`;
    const consumer = await startConcurrentConsumer({
      kafka,
      groupId,
      topics: [topic],
      concurrency: 8,
      log,
      handle: async ({ message }) => {
        const event = decodeEvent(message.value);
        const n = (event?.data as unknown as { payload: { n: number } }).payload.n;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        if (n === 20) throw new Error('endpoint bookkeeping failed');
        handled.add(n);
      },
    });
    const deadline = Date.now() + 20_000;
    while (handled.size < 59 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumer.stop();

    // Then everything else was handled, and the committed offset stops at the failed message
    expect(handled.size).toBe(59);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed!.partitions[0]!.offset).toBe('20');
  });

  it('long-polls: a message after a quiet spell is handed over at once, and under load the linger spaces fetches out', async () => {
    // Given a consumer whose fetches wait up to 5 s for data and linger 300 ms after each batch
    const own = `${topic}.linger`;
    await ensureTopics(admin, [own], 1);
    const handledAt: number[] = [];
    const consumer = await startConcurrentConsumer({
      kafka,
      groupId: `${own}.group`,
      topics: [own],
      concurrency: 8,
      log,
      fetch: { minBytes: 1, maxWaitMs: 5_000, lingerMs: 300 },
      handle: async () => {
        handledAt.push(Date.now());
      },
    });
    let fetches = 0;
    consumer.consumer.on(consumer.consumer.events.FETCH, () => (fetches += 1));
    const joined = Date.now() + 20_000;
    while (fetches === 0 && Date.now() < joined) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // When one event is appended after that quiet second
    const sentAt = Date.now();
    await eventLog.append([{ topic: own, key: 'k', event: received(0) }]);
    while (handledAt.length < 1 && Date.now() < sentAt + 10_000) await new Promise((resolve) => setTimeout(resolve, 10));
    // Then it is handled well inside the 5 s the broker may hold a fetch (a short poll for many bytes waits it out)
    expect(handledAt[0]! - sentAt).toBeLessThan(1_000);

    // When 30 more arrive one every 20 ms
    await new Promise((resolve) => setTimeout(resolve, 400));
    const fetchesBefore = fetches;
    for (let n = 1; n <= 30; n += 1) {
      await eventLog.append([{ topic: own, key: 'k', event: received(n) }]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    while (handledAt.length < 31 && Date.now() < sentAt + 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
    const loadFetches = fetches - fetchesBefore;
    await consumer.stop();
    await admin.deleteTopics({ topics: [own] });

    // Then all are handled, fetched a few at a time: about one fetch per 300 ms, not one per event
    expect(handledAt).toHaveLength(31);
    expect(loadFetches).toBeGreaterThanOrEqual(1);
    expect(loadFetches).toBeLessThanOrEqual(8);
  });

  it('runs a consumer again after a crash kafkajs itself will not restart from', async () => {
    // Given the 60 events above and a consumer whose first message fails in a way kafkajs calls non-retriable
    const consumer = kafka.consumer(consumerConfig(`${topic}.crash`, 1_048_576, { minBytes: 1, maxWaitMs: 100 }));
    const crashes: boolean[] = [];
    consumer.on(consumer.events.CRASH, ({ payload }) => crashes.push(payload.restart));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const handled = new Set<string>();
    let failed = false;
    let stopped = false;
    await runKeptRunning(
      consumer,
      {
        eachMessage: async ({ message }) => {
          if (!failed) {
            failed = true;
            throw new KafkaJSNonRetriableError('the kind of error kafkajs gives up on');
          }
          handled.add(message.offset);
        },
      },
      log,
      () => stopped,
    );

    // When it has had time to crash and come back
    const deadline = Date.now() + 30_000;
    while (handled.size < 60 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    stopped = true;
    await consumer.disconnect();

    // Then kafkajs did not restart it, yet every message was handled, the failed one included
    expect(crashes).toEqual([false]);
    expect(handled.size).toBe(60);
  });
});
