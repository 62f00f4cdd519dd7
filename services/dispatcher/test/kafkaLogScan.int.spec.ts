import { createKafka, createLogger, ensureTopics } from '@hookpost/platform';
import { KafkaLogScan, type LogChunk } from '../src/adapters/kafkaLogScan';
import { decodeLogPosition, encodeLogPosition, logDone, type LogPosition } from '../src/task/logReplay';

/**
 * The log reader of a replay, on real Kafka: a topic of two partitions with more records than one fetch
 * brings (1 MiB a partition), read from a time to the end it had when planned, in order, each record once;
 * stopped, and read on from where it stopped.
 */
const log = createLogger('test', 'warn');
const kafka = createKafka('hookpost-int', (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), log);
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
const topic = `${prefix}log-scan`;
const admin = kafka.admin();
const producer = kafka.producer();
const PER_PARTITION = 1_500;
const filler = 'x'.repeat(1_000);
let plannedAt = 0;

beforeAll(async () => {
  await admin.connect();
  await producer.connect();
  await ensureTopics(admin, [topic], 2);
  const send = (from: number, to: number) =>
    producer.send({
      topic,
      messages: Array.from({ length: to - from }, (_, i) => [0, 1].map((partition) => ({ partition, key: `k${partition}`, value: JSON.stringify({ n: from + i, partition, filler }) }))).flat(),
    });
  // Ten records before the time the read starts at, then the rest (well over 1 MiB a partition)
  await send(0, 10);
  await new Promise((resolve) => setTimeout(resolve, 50));
  plannedAt = Date.now();
  for (let from = 10; from < PER_PARTITION; from += 250) await send(from, Math.min(from + 250, PER_PARTITION));
});

afterAll(async () => {
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  const { groups } = await admin.listGroups();
  await admin.deleteGroups(groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix))).catch(() => undefined);
  await admin.disconnect();
});

const scanner = () => new KafkaLogScan({ kafka, admin, topic, groupPrefix: prefix, log, chunkSize: 100, stallMs: 20_000 });
const numbersOf = (chunk: LogChunk) => chunk.messages.map((message) => JSON.parse(message.value!.toString()).n as number);

describe('reading a replay from the log', () => {
  it('plans from the records at or after a time to the end, and reads each record once, in order, past one fetch', async () => {
    const plan = await scanner().plan(plannedAt);
    expect(Object.values(plan.partitions).map((range) => [range.start, range.end])).toEqual([
      ['10', String(PER_PARTITION)],
      ['10', String(PER_PARTITION)],
    ]);
    const read: Record<number, number[]> = { 0: [], 1: [] };
    let last: LogPosition = plan;
    const verdict = await scanner().read(plan, async (chunk) => {
      expect(chunk.messages.length).toBeLessThanOrEqual(100);
      read[chunk.partition]!.push(...numbersOf(chunk));
      last = chunk.position;
      return 'continue';
    });
    expect(verdict).toBe('done');
    const expected = Array.from({ length: PER_PARTITION - 10 }, (_, i) => i + 10);
    expect(read[0]).toEqual(expected);
    expect(read[1]).toEqual(expected);
    expect(logDone(last)).toBe(true);
  });

  it('stops when told, and reads on from the position it stopped at, nothing twice', async () => {
    const plan = await scanner().plan(plannedAt);
    const seen: string[] = [];
    let position: LogPosition = plan;
    let chunks = 0;
    const first = await scanner().read(plan, async (chunk) => {
      seen.push(...numbersOf(chunk).map((n) => `${chunk.partition}/${n}`));
      position = chunk.position;
      chunks += 1;
      return chunks === 7 ? 'stop' : 'continue';
    });
    expect(first).toBe('stopped');
    // (the position survives a checkpoint)
    const resumed = decodeLogPosition(encodeLogPosition(position))!;
    const second = await scanner().read(resumed, async (chunk) => {
      seen.push(...numbersOf(chunk).map((n) => `${chunk.partition}/${n}`));
      return 'continue';
    });
    expect(second).toBe('done');
    expect(seen).toHaveLength(2 * (PER_PARTITION - 10));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('has nothing to read when the window holds no record', async () => {
    const plan = await scanner().plan(Date.now() + 60_000);
    expect(logDone(plan)).toBe(true);
    expect(await scanner().read(plan, async () => 'continue')).toBe('done');
  });
});
