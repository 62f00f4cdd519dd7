import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@hookpost/platform';
import { logDone, planLog, readUpTo, type LogPosition } from '../task/logReplay';

/** A run of records of one partition, in offset order, and the position after them. */
export type LogChunk = Readonly<{ partition: number; messages: readonly KafkaMessage[]; position: LogPosition }>;

/** What the reader of a chunk says: go on, or stop reading (the task was cancelled, or the service is stopping). */
export type ChunkVerdict = 'continue' | 'stop';

/**
 * Reads ranges of one topic (the webhooks topic, for a replay from the log) straight from Kafka. kafkajs has
 * no consumer without a group, so each read has a consumer group of its own, used once (never committed,
 * deleted afterwards): its one member gets every partition, is sent to each range's next offset, and pauses a
 * partition at its end. After a rebalance (the member was slow to heartbeat) it is sent back to where it had
 * got, and records before that are skipped, so nothing is read twice into the task.
 */
export class KafkaLogScan {
  constructor(
    private readonly deps: {
      kafka: Kafka;
      admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp' | 'deleteGroups'>;
      topic: string;
      /** Prefix of the one-off consumer groups (the topic prefix, so a test run's cleanup finds them). */
      groupPrefix: string;
      log: Logger;
      /** Records handed to the reader at once (they become one page of deliveries). */
      chunkSize: number;
      /** No record for this long while ranges are unread: the read fails, to be tried again from its position. */
      stallMs?: number;
    },
  ) {}

  /** The ranges to read: from the first record stamped at or after `fromMs` to the end of each partition now. */
  async plan(fromMs: number): Promise<LogPosition> {
    const [starts, ends] = await Promise.all([
      this.deps.admin.fetchTopicOffsetsByTimestamp(this.deps.topic, fromMs),
      this.deps.admin.fetchTopicOffsets(this.deps.topic),
    ]);
    return planLog(starts, ends.map(({ partition, high }) => ({ partition, offset: high })));
  }

  /**
   * Reads from `position` to the end of every range, handing `onChunk` each run of records (at most
   * `chunkSize`, one partition's, in order) with the position after it. Resolves 'done' when every range is
   * read, 'stopped' when `onChunk` said stop; a rejection of `onChunk` ends the read with it.
   */
  async read(position: LogPosition, onChunk: (chunk: LogChunk) => Promise<ChunkVerdict>): Promise<'done' | 'stopped'> {
    if (logDone(position)) return 'done';
    const { kafka, topic, log } = this.deps;
    const groupId = `${this.deps.groupPrefix}hookpost.log-replay.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytesPerPartition: 1_048_576, minBytes: 1, maxWaitTimeInMs: 500 });
    let current = position;
    let settled = false;
    let lastRecordAt = Date.now();
    // (the time a chunk takes at the endpoint is not a stall of the log)
    let inChunk = false;
    let resolveRead!: (verdict: 'done' | 'stopped') => void;
    let rejectRead!: (error: unknown) => void;
    const finished = new Promise<'done' | 'stopped'>((resolve, reject) => {
      resolveRead = resolve;
      rejectRead = reject;
    });
    const settle = (outcome: { verdict: 'done' | 'stopped' } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      if ('error' in outcome) rejectRead(outcome.error);
      else resolveRead(outcome.verdict);
    };
    const unread = () => Object.entries(current.partitions).filter(([, range]) => BigInt(range.next) < BigInt(range.end));
    const seekUnread = (target: Consumer) => {
      for (const [partition, range] of unread()) target.seek({ topic, partition: Number(partition), offset: range.next });
    };
    const stall = this.deps.stallMs ?? 60_000;
    const watchdog = setInterval(() => {
      if (!inChunk && Date.now() - lastRecordAt > stall) settle({ error: new Error(`no record of ${topic} for ${stall} ms while ranges were unread`) });
    }, Math.min(stall, 5_000));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      // Every (re)join starts where the reading had got: the group has no committed offsets to go back to.
      consumer.on(consumer.events.GROUP_JOIN, () => seekUnread(consumer));
      // A crash ends the read (the task reads again from its position, with a new group) rather than a
      // consumer restarted in a loop.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) settle({ error: payload.error });
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          const range = current.partitions[String(batch.partition)];
          if (settled || !range) return;
          // (resolving moves kafkajs's own fetch position on: nothing is committed, the group is used once)
          const skipped = batch.messages.filter((message) => BigInt(message.offset) < BigInt(range.next));
          if (skipped.length > 0) resolveOffset(skipped[skipped.length - 1]!.offset);
          lastRecordAt = Date.now();
          // (records before where the reading got: a re-fetch after a rebalance, or before the seek took)
          const fresh = batch.messages.filter((message) => BigInt(message.offset) >= BigInt(range.next) && BigInt(message.offset) < BigInt(range.end));
          for (let from = 0; from < fresh.length; from += this.deps.chunkSize) {
            if (settled || !isRunning() || isStale()) return;
            const messages = fresh.slice(from, from + this.deps.chunkSize);
            const after = readUpTo(current, batch.partition, (BigInt(messages[messages.length - 1]!.offset) + 1n).toString());
            let verdict: ChunkVerdict;
            // A chunk may take long (a slow endpoint): the member heartbeats meanwhile, or the broker would
            // take it for dead and hand its partitions round again.
            const beat = setInterval(() => void heartbeat().catch(() => undefined), 3_000);
            inChunk = true;
            try {
              verdict = await onChunk({ partition: batch.partition, messages, position: after });
            } catch (error) {
              settle({ error });
              return;
            } finally {
              inChunk = false;
              clearInterval(beat);
            }
            current = after;
            lastRecordAt = Date.now();
            resolveOffset(messages[messages.length - 1]!.offset);
            if (verdict === 'stop') {
              settle({ verdict: 'stopped' });
              return;
            }
            // (a rebalance under way: this batch is given up, the next join seeks back to `current`)
            if (!(await heartbeat().then(() => true, () => false))) return;
          }
          const ended = current.partitions[String(batch.partition)]!;
          if (BigInt(ended.next) >= BigInt(ended.end)) consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (logDone(current)) settle({ verdict: 'done' });
        },
      });
      seekUnread(consumer);
      const read = Object.entries(current.partitions).filter(([, range]) => BigInt(range.next) >= BigInt(range.end));
      if (read.length > 0) consumer.pause([{ topic, partitions: read.map(([partition]) => Number(partition)) }]);
      return await finished;
    } finally {
      clearInterval(watchdog);
      settled = true;
      await consumer.disconnect().catch((error: unknown) => log.warn({ err: error }, 'log replay consumer did not disconnect'));
      await this.deps.admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }
}
