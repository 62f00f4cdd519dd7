import { Kafka, logLevel } from 'kafkajs';
import { AppliedPositions, KafkaLogHead, positionKey, reached } from '../src/adapters/kafkaReadFence';
import { uniqueRunId } from '../../../test/support/wait';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

describe('the log head a read waits for (real Kafka)', () => {
  const kafka = new Kafka({ clientId: 'read-fence-test', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const topic = `${uniqueRunId()}.fence`;

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
  });

  it('includes every write acknowledged before the lookup, for every reader that arrived before it', async () => {
    // Given a head and a write acknowledged with acks=all
    const head = new KafkaLogHead(admin);
    const [written] = await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v', partition: 1 }] });

    // When many reads ask at once, some of them after a second write
    const first = Array.from({ length: 5 }, () => head.of([topic]));
    const [again] = await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v', partition: 1 }] });
    const second = Array.from({ length: 5 }, () => head.of([topic]));

    // Then each sees the writes acknowledged before it asked, as next offsets
    for (const positions of await Promise.all(first)) expect(positions.get(positionKey(topic, 1))! > BigInt(written!.baseOffset!)).toBe(true);
    for (const positions of await Promise.all(second)) expect(positions.get(positionKey(topic, 1))).toBe(BigInt(again!.baseOffset!) + 1n);
    expect([...(await second[0]!).keys()].sort()).toEqual([positionKey(topic, 0), positionKey(topic, 1)]);
  });
});

describe('applied positions', () => {
  it('wakes a waiting read on its own commit, and on another projector’s stored offsets', async () => {
    let stored = new Map<string, bigint>();
    const applied = new AppliedPositions(async () => stored, 10);
    const required = new Map([[positionKey('t', 0), 5n], [positionKey('t', 1), 2n]]);

    const waiting = applied.waitFor(required, 2_000);
    applied.advance('t', 0, 5n);
    // Partition 1 belongs to another projector: only its stored offset says it has been applied.
    stored = new Map([[positionKey('t', 1), 2n]]);
    await expect(waiting).resolves.toBe(true);
    applied.close();
  });

  it('gives up after the bound when the read model stays behind', async () => {
    const applied = new AppliedPositions(async () => new Map(), 10);
    const started = Date.now();
    await expect(applied.waitFor(new Map([[positionKey('t', 0), 1n]]), 150)).resolves.toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    applied.close();
  });

  it('needs nothing for a partition no write reached', () => {
    expect(reached(new Map(), new Map([[positionKey('t', 0), 0n]]))).toBe(true);
    expect(reached(new Map([[positionKey('t', 0), 3n]]), new Map([[positionKey('t', 0), 4n]]))).toBe(false);
  });
});
