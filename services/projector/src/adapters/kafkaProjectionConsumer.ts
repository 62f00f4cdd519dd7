import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Pool } from 'pg';
import type { HookpostEvent } from '@hookpost/contracts';
import { SpanKind, trace } from '@opentelemetry/api';
import { consumerConfig, fetchLinger, messageContext, NewerReleaseEventError, readEvent, stopForNewerRelease, runKeptRunning, type FetchSettings, type Logger, type RedisApplicationCache, type RedisEventTypeCache, type RedisSubscriptionCache } from '@hookpost/platform';
import type { AppliedBatch, PartitionBatch, PgProjectionWriter } from './pgProjectionWriter';

const tracer = trace.getTracer('hookpost-projector');

export type ProjectionConsumer = { stop: () => Promise<void>; consumer: Consumer };

/**
 * Feeds every event topic into the read model, one transaction per partition batch. Kafka offsets are
 * committed after PostgreSQL's commit; the offsets stored with the rows are what prevents double counting.
 */
export async function startProjectionConsumer(options: {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  writer: PgProjectionWriter;
  cache: RedisSubscriptionCache;
  /** The command side's caches of applications and event types, kept in step like the subscription cache. */
  entityCaches?: { applications: RedisApplicationCache; eventTypes: RedisEventTypeCache };
  log: Logger;
  /** Offsets stored with the rows: where each partition resumes, whatever Kafka has committed. */
  storedOffsets: () => Promise<Map<string, bigint>>;
  /** Parks an unreadable message (dead-letter topic) before the batch moves past it. */
  park: (from: { topic: string; partition: number; message: KafkaMessage }, reason: string) => Promise<void>;
  /** Called after each committed batch with the events it held and the rows it wrote. */
  onApplied?: (events: HookpostEvent[], rows: number) => void;
  /** Called once a partition's events below `next` are in the read model. */
  onCommitted?: (topic: string, partition: number, next: bigint) => void;
  fetch?: FetchSettings;
}): Promise<ProjectionConsumer> {
  const { kafka, writer, cache, log } = options;
  const consumer = kafka.consumer(consumerConfig(options.groupId, 2_097_152, options.fetch));
  await consumer.connect();
  for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: true });
  // The read model's own offsets are the truth (a rebuild empties them): resume every assigned partition there.
  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    try {
      const stored = await options.storedOffsets();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) consumer.seek({ topic, partition, offset: (stored.get(`${topic}/${partition}`) ?? 0n).toString() });
      }
    } catch (error) {
      log.error({ err: error }, 'could not seek to the stored offsets');
    }
  });
  /**
   * Applies a batch; if PostgreSQL refuses the data itself (not a lost connection), applies the events one
   * at a time and parks the ones it refuses, so one event the read model cannot take never stalls a partition.
   */
  const applyIsolatingRefused = async (
    topic: string,
    partition: number,
    messages: PartitionBatch['messages'],
    raw: KafkaMessage[],
  ): Promise<AppliedBatch> => {
    try {
      return await writer.applyBatch({ topic, partition, messages });
    } catch (error) {
      if (!refusedData(error)) throw error;
      const total: AppliedBatch = { applied: 0, skipped: 0, rows: 0, subscriptions: [] };
      for (const [index, message] of messages.entries()) {
        let one: AppliedBatch;
        try {
          one = await writer.applyBatch({ topic, partition, messages: [message] });
        } catch (refused) {
          if (!refusedData(refused)) throw refused;
          const reason = `read model refused it: ${(refused as Error).message}`.slice(0, 500);
          log.error({ topic, partition, offset: message.offset, reason }, 'event parked on the dead-letter topic');
          await options.park({ topic, partition, message: raw[index]! }, reason);
          one = await writer.applyBatch({ topic, partition, messages: [{ offset: message.offset, event: undefined }] });
        }
        total.applied += one.applied;
        total.skipped += one.skipped;
        total.rows += one.rows;
        total.subscriptions.push(...one.subscriptions);
      }
      return total;
    }
  };

  let stopping = false;
  const linger = fetchLinger(consumer, options.fetch?.lingerMs, () => stopping);
  await runKeptRunning(consumer, {
    partitionsConsumedConcurrently: 3,
    eachBatch: ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => linger(async () => {
      if (batch.messages.length === 0) return;
      const messages: { offset: string; event: HookpostEvent | undefined }[] = [];
      for (const message of batch.messages) {
        const read = readEvent(message.value);
        // (nothing of the batch is applied: the next owner of the partition reads it from its committed offset)
        if (!read.ok && read.newer) stopForNewerRelease(log, new NewerReleaseEventError({ topic: batch.topic, partition: batch.partition, offset: message.offset }, read.reason));
        if (!read.ok) {
          log.error({ topic: batch.topic, partition: batch.partition, offset: message.offset, reason: read.reason }, 'unreadable event parked on the dead-letter topic');
          await options.park({ topic: batch.topic, partition: batch.partition, message }, read.reason);
        }
        messages.push({ offset: message.offset, event: read.ok ? read.event : undefined });
      }
      // One span per event, child of the span that recorded it, ended when its row is committed.
      const spans = batch.messages.map((message, index) =>
        tracer.startSpan(
          `project ${messages[index]!.event?.type ?? 'unreadable'}`,
          { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'kafka', 'messaging.kafka.offset': message.offset } },
          messageContext(message.headers),
        ),
      );
      let result;
      try {
        result = await applyIsolatingRefused(batch.topic, batch.partition, messages, batch.messages);
      } finally {
        for (const span of spans) span.end();
      }
      for (const subscription of result.subscriptions) await cache.put(subscription, true);
      for (const application of result.applications ?? []) await options.entityCaches?.applications.put(application, true);
      for (const eventType of result.eventTypes ?? []) await options.entityCaches?.eventTypes.put(eventType, true);
      options.onCommitted?.(batch.topic, batch.partition, BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n);
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      if (result.applied > 0) options.onApplied?.(messages.flatMap((message) => (message.event ? [message.event] : [])), result.rows);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }),
  }, log, () => stopping);
  return {
    consumer,
    stop: async () => {
      stopping = true;
      await consumer.disconnect();
    },
  };
}

/** How many events of the topics the read model has not applied yet (0 when caught up). */
/** PostgreSQL refused the data itself (SQLSTATE class 22, data exception, or 23, integrity): retrying cannot help. */
function refusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

export async function projectionBacklog(admin: Admin, topics: string[], stored: Map<string, bigint>): Promise<bigint> {
  let backlog = 0n;
  for (const topic of topics) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      const applied = stored.get(`${topic}/${partition}`) ?? 0n;
      const end = BigInt(high);
      if (end > applied) backlog += end - applied;
    }
  }
  return backlog;
}

export async function storedOffsets(pool: Pool): Promise<Map<string, bigint>> {
  const rows = await pool.query<{ topic: string; partition: number; next_offset: string }>('SELECT topic, partition, next_offset FROM projector_offsets');
  return new Map(rows.rows.map((row) => [`${row.topic}/${row.partition}`, BigInt(row.next_offset)]));
}
