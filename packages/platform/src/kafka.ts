import {
  ConfigResourceTypes,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type ConsumerRunConfig,
  type IHeaders,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import { assertValidEvent, InvalidEventError, type HookpostEvent } from '@hookpost/contracts';
import type { Logger } from './logger';
import { within } from './within';
import { stopSelf } from './runService';

/**
 * kafkajs 2.2.4, its last release, spins on every broker connection: each answered request ends in
 * `scheduleCheckPendingRequests`, which, with nothing pending and no throttle, arms a timer with a negative delay
 * (1 ms) whose callback arms it again, for ever (tulios/kafkajs#1556 and #1704; the fix proposed in #1667 was never
 * released). That is a thousand wake-ups a second per connection, busy or idle. With nothing pending there is
 * nothing to check: a request that has to wait schedules its own check when it is queued (`push`), and every
 * answer or timeout checks again. Applied once, to the class, for every client in the process.
 */
type KafkaRequestQueue = { pending: unknown[]; scheduleCheckPendingRequests(): void };
// (kafkajs has no "exports" map: its internals are reachable, and pinned at 2.2.4 in the lockfile)
export const KafkaRequestQueueClass = require('kafkajs/src/network/requestQueue') as { prototype: KafkaRequestQueue; new (options: Record<string, unknown>): KafkaRequestQueue };
const scheduleCheckPendingRequests = KafkaRequestQueueClass.prototype.scheduleCheckPendingRequests;
KafkaRequestQueueClass.prototype.scheduleCheckPendingRequests = function (this: KafkaRequestQueue) {
  if (this.pending.length === 0) return;
  scheduleCheckPendingRequests.call(this);
};

/**
 * How hard a client retries a broker that does not answer. The default suits consumers and the dispatcher,
 * which keep going until the broker is back; a service answering HTTP requests wants a send to fail within
 * seconds (`answeringRequests`), so a caller hears 503 while the broker is down rather than nothing.
 */
export type KafkaPatience = 'persistent' | 'answeringRequests';

export function createKafka(clientId: string, brokers: string[], log: Logger, patience: KafkaPatience = 'persistent'): Kafka {
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
    // kafkajs logs every error response it then retries itself; what matters reaches the caller as an error.
    [logLevel.ERROR]: 'warn',
    [logLevel.WARN]: 'warn',
    [logLevel.INFO]: 'info',
    [logLevel.DEBUG]: 'debug',
  };
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: patience === 'persistent' ? { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 } : { initialRetryTime: 100, retries: 3, maxRetryTime: 500 },
    ...(patience === 'answeringRequests' ? { connectionTimeout: 1_000, requestTimeout: 5_000 } : {}),
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levels[level] ?? 'info']({ kafka: rest }, `kafkajs: ${message}`);
      },
  });
}

/**
 * Creates the event topics if missing (unlimited retention: the log rebuilds the read model) and waits until
 * every partition has a leader, since a brand-new topic briefly has none.
 *
 * `flushMessages` makes the broker fsync a topic's log every that many appends (`flush.messages`) before it
 * acknowledges them: 1 on a single broker, where an acknowledged write is otherwise only in the page cache and a
 * power loss would drop webhooks already answered 202. Set on our topics only, not broker-wide: the consumer
 * offset commits need no fsync (the bench measured the difference). 0 leaves the broker's setting, for a
 * replicated cluster that gets its durability from min.insync.replicas. Existing topics are brought in line.
 */
export async function ensureTopics(admin: Admin, topics: string[], partitions: number, flushMessages = 0, replicationFactor = 1): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  const durability = flushMessages > 0 ? [{ name: 'flush.messages', value: String(flushMessages) }] : [];
  try {
    // Not kafkajs's waitForLeaders: right after creation a fresh KRaft broker can answer
    // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs gives up on; the loop below waits through it.
    if (missing.length > 0) await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
        configEntries: [{ name: 'retention.ms', value: '-1' }, ...durability],
      })),
    });
  } catch (error) {
    // Another service may create the same topic at the same moment.
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
  if (durability.length > 0) await ensureTopicConfig(admin, topics.filter((topic) => existing.has(topic)), durability);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      if (metadata.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Sets `wanted` on topics that lack it, keeping every other setting made on the topic: Kafka's AlterConfigs
 * (the one kafkajs speaks) replaces a topic's whole set of dynamic settings, so they are sent back with it.
 */
async function ensureTopicConfig(admin: Admin, topics: string[], wanted: { name: string; value: string }[]): Promise<void> {
  if (topics.length === 0) return;
  const described = await admin.describeConfigs({ resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
  const resources = described.resources.flatMap((resource) => {
    const current = new Map(resource.configEntries.map((entry) => [entry.configName, entry]));
    if (wanted.every(({ name, value }) => current.get(name)?.configValue === value)) return [];
    // configSource 1: set on this topic (DYNAMIC_TOPIC_CONFIG).
    const kept = resource.configEntries
      .filter((entry) => entry.configSource === 1 && !wanted.some(({ name }) => name === entry.configName))
      .map((entry) => ({ name: entry.configName, value: entry.configValue }));
    return [{ type: ConfigResourceTypes.TOPIC, name: resource.resourceName, configEntries: [...kept, ...wanted] }];
  });
  if (resources.length === 0) return;
  // A broker that has just started may leave the request hanging: a few bounded tries.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await within(10_000, admin.alterConfigs({ validateOnly: false, resources }), 'no answer to AlterConfigs');
      return;
    } catch (error) {
      if (attempt >= 6) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
    }
  }
}

export type EventRecord = { topic: string; key: string; event: HookpostEvent; headers?: IHeaders };

const tracer = trace.getTracer('hookpost');

const headerGetter: TextMapGetter<IHeaders | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** The trace context a message carries (W3C traceparent in its headers), to make its processing a child. */
export function messageContext(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** Runs `work` in a consumer span that is a child of the message's producer, one per message. */
export function withMessageSpan<T>(name: string, headers: IHeaders | undefined, attributes: Record<string, string | number>, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = messageContext(headers);
  const span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

type Pending = { records: EventRecord[]; resolve: () => void; reject: (error: unknown) => void; sent: boolean; timer?: NodeJS.Timeout };

/** Kafka did not answer an append that was sent within its time: it may or may not be in the log. */
export class AppendTimeoutError extends Error {
  constructor(ms: number) {
    super(`no acknowledgement from Kafka within ${ms} ms`);
    this.name = 'AppendTimeoutError';
  }
}

/** The log did not take the write, and never will: it was not sent (queue full, or its time ran out first). */
export class AppendRefusedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'AppendRefusedError';
  }
}

export type AppendOptions = {
  /**
   * How long the caller waits. Past it, events still queued are dropped and the append fails with
   * AppendRefusedError (they are never written later). Events already sent get until twice this for Kafka's
   * answer (the producer's bounded retries usually give it sooner); past that the append fails with
   * AppendTimeoutError, and those events may still be written, as when an acknowledgement is lost.
   */
  timeoutMs?: number;
};

/**
 * Appends events to Kafka with acks=all on an idempotent producer. kafkajs has no linger.ms and awaiting one
 * send per request caps throughput, so concurrent appends are coalesced: while one sendBatch is in flight the
 * next ones queue, and go out together as the next batch. A caller's promise settles when its own events
 * are acknowledged.
 */
export class KafkaEventLog {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private flushing = false;

  /**
   * `maxQueuedRecords` bounds what waits for the next send: past it, appends fail at once (shed load).
   * `patience` 'answeringRequests' makes a send give up within a few seconds (the caller answers 503) rather
   * than retry for half a minute while requests pile up behind it.
   */
  constructor(
    kafka: Kafka,
    private readonly maxQueuedRecords = 20_000,
    patience: KafkaPatience = 'persistent',
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(patience === 'answeringRequests' ? { retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 1_000 } } : {}),
    });
  }

  /**
   * Connects, waiting through a broker that is still starting ("the coordinator is loading" can last tens of
   * seconds after a restart, longer than a short-retry producer waits on its own).
   */
  async connect(): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (let wait = 500; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        await this.producer.connect();
        return;
      } catch (error) {
        if (Date.now() + wait > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  append(records: EventRecord[], options: AppendOptions = {}): Promise<void> {
    for (const record of records) assertValidEvent(record.event);
    if (this.queuedRecords + records.length > this.maxQueuedRecords) {
      return Promise.reject(new AppendRefusedError(`the event log has ${this.queuedRecords} events waiting to be sent`));
    }
    // One producer span per append, child of the caller's span (the ingest request, the attempt); its
    // context travels in every message's headers, so consumers continue the same trace.
    const span = tracer.startSpan(`${records[0]?.topic ?? 'events'} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.system': 'kafka', 'messaging.batch.message_count': records.length },
    });
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    const traced = records.map((record) => ({ ...record, headers: { ...record.headers, ...carrier } }));
    return new Promise<void>((resolve, reject) => {
      // Settled once: a send that outlived its caller's time still ends here when Kafka answers.
      let settled = false;
      const pending: Pending = {
        records: traced,
        sent: false,
        resolve: () => {
          if (settled) return;
          settled = true;
          clearTimeout(pending.timer);
          span.end();
          resolve();
        },
        reject: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(pending.timer);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          span.end();
          reject(error);
        },
      };
      const timeoutMs = options.timeoutMs;
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          if (pending.sent) {
            pending.timer = setTimeout(() => pending.reject(new AppendTimeoutError(2 * timeoutMs)), timeoutMs);
            return;
          }
          // Still queued: take it out, so what the caller is told failed is never written afterwards.
          this.queue = this.queue.filter((other) => other !== pending);
          this.queuedRecords -= pending.records.length;
          pending.reject(new AppendRefusedError(`not sent within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.queue.push(pending);
      this.queuedRecords += pending.records.length;
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /**
   * Parks a message that could not be read on the dead-letter topic, as it was, with where it came from
   * and why; resolves once Kafka has it, so the caller may move past it.
   */
  async park(deadLetterTopic: string, from: { topic: string; partition: number; message: KafkaMessage }, reason: string): Promise<void> {
    await this.producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [
        {
          key: from.message.key,
          value: from.message.value,
          headers: {
            ...from.message.headers,
            'x-hookpost-source-topic': from.topic,
            'x-hookpost-source-partition': String(from.partition),
            'x-hookpost-source-offset': from.message.offset,
            'x-hookpost-reason': reason,
          },
        },
      ],
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.queuedRecords = 0;
      for (const pending of batch) pending.sent = true;
      const byTopic = new Map<string, { key: string; value: string; headers?: IHeaders }[]>();
      for (const { records } of batch) {
        for (const record of records) {
          const messages = byTopic.get(record.topic) ?? [];
          messages.push({ key: record.key, value: JSON.stringify(record.event), headers: record.headers });
          byTopic.set(record.topic, messages);
        }
      }
      try {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.flushing = false;
  }
}

export type ConsumedMessage = Readonly<{ topic: string; partition: number; message: KafkaMessage }>;

/** Offsets of one partition that are in flight; the committable offset is the end of the finished prefix. */
class PartitionProgress {
  private readonly inFlight: bigint[] = [];
  private readonly finished = new Set<bigint>();
  committable: bigint | undefined;
  committed: bigint | undefined;

  start(offset: bigint): void {
    this.inFlight.push(offset);
  }

  finish(offset: bigint): void {
    this.finished.add(offset);
    while (this.inFlight.length > 0 && this.finished.has(this.inFlight[0]!)) {
      const done = this.inFlight.shift()!;
      this.finished.delete(done);
      this.committable = done + 1n;
    }
  }

  get idle(): boolean {
    return this.inFlight.length === 0;
  }
}

/** Bounded concurrency: a count of slots in use, and a wake-up for whoever waits for one to free. */
class Slots {
  private used = 0;
  private wakers: (() => void)[] = [];
  constructor(readonly size: number) {}
  get inUse(): number {
    return this.used;
  }
  tryTake(): boolean {
    if (this.used >= this.size) return false;
    this.used += 1;
    return true;
  }
  give(): void {
    this.used -= 1;
    for (const wake of this.wakers.splice(0)) wake();
  }
  /** Resolves when a slot is given back, or after `ms` at the latest. */
  freedOrAfter(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export type ConcurrentConsumerOptions = {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Messages handled at once across all partitions. */
  concurrency: number;
  log: Logger;
  /** Should retry what it can itself; a rejection holds the partition's committed offset below the message. */
  handle: (consumed: ConsumedMessage) => Promise<void>;
  commitIntervalMs?: number;
  fetch?: FetchSettings;
};

/**
 * How a consumer fetches. A fetch is a long poll: the broker answers as soon as it holds `minBytes` (1 by
 * default: at once when anything arrives) or after `maxWaitMs`, so an idle consumer costs one fetch per
 * `maxWaitMs` and the first message after a quiet spell is handed over without waiting. Batches come from
 * `lingerMs`: after a batch, the next fetch goes out no sooner than `lingerMs` after this one came back, so under
 * load a fetch brings what arrived meanwhile (the effect of linger.ms on a producer) and adds at most `lingerMs`.
 * (A short poll, a large `minBytes` answered after a few ms, made batches too, but cost a fetch every few ms
 * with nothing to read: most of the stack's idle CPU; docs/performance.md.)
 */
export type FetchSettings = { minBytes: number; maxWaitMs: number; lingerMs?: number };

/**
 * What every Hookpost consumer group runs with: a dead member is noticed within 10 s, and fetches wait as
 * `fetch` says (a 1 s long poll without it).
 */
export function consumerConfig(groupId: string, maxBytesPerPartition: number, fetch?: FetchSettings): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxBytesPerPartition,
    minBytes: fetch?.minBytes ?? 1,
    maxWaitTimeInMs: fetch?.maxWaitMs ?? 1_000,
  };
}

/**
 * FetchSettings.lingerMs for `consumer`: what a batch handler awaits last. kafkajs fetches again only once every
 * batch of the last fetch is handled, so the batch that finishes last holds the next fetch until `lingerMs` after
 * this one came back. Only the last: a handler that lingered would hold its worker while batches of other
 * partitions wait for one (more partitions than workers), and their handling would come on top of the linger.
 * (No handler running means no batch of that fetch is left: kafkajs's workers stop only once its queue is empty.)
 */
export function fetchLinger(consumer: Consumer, lingerMs: number | undefined, stopped: () => boolean): <T>(handle: () => Promise<T>) => Promise<T> {
  let fetchedAt = Date.now();
  let running = 0;
  consumer.on(consumer.events.FETCH, () => {
    fetchedAt = Date.now();
  });
  return async (handle) => {
    running += 1;
    let result;
    try {
      result = await handle();
    } finally {
      running -= 1;
    }
    const rest = (lingerMs ?? 0) - (Date.now() - fetchedAt);
    if (running === 0 && rest > 0 && !stopped()) await new Promise((resolve) => setTimeout(resolve, rest));
    return result;
  };
}

/**
 * Runs `consumer` and keeps it running. kafkajs restarts a consumer itself after a crash it deems retriable;
 * after any other crash it disconnects and stays stopped, and the service would look alive while it consumes
 * nothing. Such a crash is logged, and the consumer connected and run again with backoff, unless `stopped()`
 * says it was stopped on purpose.
 */
export async function runKeptRunning(consumer: Consumer, config: ConsumerRunConfig, log: Logger, stopped: () => boolean): Promise<void> {
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopped()) return;
    log.error({ err: payload.error, group: payload.groupId }, 'kafka consumer crashed and kafkajs will not restart it; restarting it');
    void (async () => {
      for (let wait = 500; !stopped(); wait = Math.min(wait * 2, 10_000)) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        if (stopped()) return;
        try {
          await consumer.connect();
          await consumer.run(config);
          log.info({ group: payload.groupId }, 'kafka consumer running again');
          return;
        } catch (error) {
          log.warn({ err: error, group: payload.groupId }, 'kafka consumer restart failed; trying again');
        }
      }
    })();
  });
  await consumer.run(config);
}

/**
 * Consumes with bounded concurrency so one slow endpoint never holds up a partition: messages are started
 * as they arrive (up to `concurrency` at once) and offsets are committed only up to the last contiguous
 * finished message, so a crash redelivers whatever was unfinished and loses nothing.
 */
export async function startConcurrentConsumer(options: ConcurrentConsumerOptions): Promise<{ stop: () => Promise<void>; consumer: Consumer }> {
  const { kafka, groupId, topics, log, handle } = options;
  const consumer = kafka.consumer(consumerConfig(groupId, 1_048_576, options.fetch));
  const slots = new Slots(options.concurrency);
  const progress = new Map<string, PartitionProgress>();
  const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

  const commit = async () => {
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    for (const [key, partition] of progress) {
      if (partition.committable !== undefined && partition.committable !== partition.committed) {
        const [topic, number] = key.split('\u0000') as [string, string];
        offsets.push({ topic, partition: Number(number), offset: partition.committable.toString() });
      }
    }
    if (offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets);
      for (const { topic, partition, offset } of offsets) progress.get(keyOf(topic, partition))!.committed = BigInt(offset);
    } catch (error) {
      log.warn({ err: error }, 'offset commit failed; will retry');
    }
  };

  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    // Partitions handed to another member are theirs now; forget our progress on them.
    const assigned = new Set(Object.entries(event.payload.memberAssignment).flatMap(([topic, parts]) => parts.map((p) => keyOf(topic, p))));
    for (const key of progress.keys()) if (!assigned.has(key)) progress.delete(key);
  });

  let draining = false;
  const timer = setInterval(() => void commit(), options.commitIntervalMs ?? 200);
  const linger = fetchLinger(consumer, options.fetch?.lingerMs, () => draining);
  await runKeptRunning(consumer, {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => linger(async () => {
      const key = keyOf(batch.topic, batch.partition);
      for (const message of batch.messages) {
        if (draining || !isRunning() || isStale()) break;
        while (!slots.tryTake()) {
          // Full: wait for a slot, heartbeating so a long wait does not get us evicted from the group.
          await slots.freedOrAfter(1_000);
          await heartbeat();
          if (draining || !isRunning() || isStale()) return;
        }
        let partition = progress.get(key);
        if (!partition) progress.set(key, (partition = new PartitionProgress()));
        const offset = BigInt(message.offset);
        partition.start(offset);
        const tracked = partition;
        void withMessageSpan(`${batch.topic} process`, message.headers, { 'messaging.system': 'kafka', 'messaging.kafka.offset': message.offset }, () =>
          handle({ topic: batch.topic, partition: batch.partition, message }),
        ).then(
          () => {
            tracked.finish(offset);
            slots.give();
          },
          (error: unknown) => {
            // Never committed past: the message comes back after a restart or rebalance.
            log.error({ err: error, topic: batch.topic, offset: message.offset }, 'message handler failed; offset held back');
            slots.give();
          },
        );
        resolveOffset(message.offset);
      }
      await heartbeat();
    }),
  }, log, () => draining);

  return {
    consumer,
    // Start nothing new, let what is in flight finish (bounded), commit while still a group member (kafkajs
    // ignores commits once stopped), then leave. Whatever did not finish comes back to the next consumer.
    stop: async () => {
      draining = true;
      const deadline = Date.now() + 20_000;
      while (slots.inUse > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      clearInterval(timer);
      await commit();
      await consumer.disconnect();
    },
  };
}

/** Parses and validates one event; undefined for anything unreadable (the caller decides what to do; see readEvent for an event from a newer release). */
export function decodeEvent(value: Buffer | null): HookpostEvent | undefined {
  const decoded = readEvent(value);
  return decoded.ok ? decoded.event : undefined;
}

/**
 * Parses and validates one event, saying why when it cannot. `newer`: the event is well formed but written by
 * a newer release (a type, schema version or fields this one does not know). Unlike garbage, such an event
 * must not be parked or skipped: the reader is too old for the log, and an upgraded one will read it.
 */
export function readEvent(value: Buffer | null): { ok: true; event: HookpostEvent } | { ok: false; reason: string; newer: boolean } {
  if (!value) return { ok: false, reason: 'empty message', newer: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON', newer: false };
  }
  try {
    assertValidEvent(parsed);
    return { ok: true, event: parsed };
  } catch (error) {
    const details = (error as { details?: string[] }).details ?? [];
    const newer = error instanceof InvalidEventError && error.fromNewerRelease;
    return { ok: false, reason: `${(error as Error).message}${details.length ? `: ${details.slice(0, 3).join('; ')}` : ''}`.slice(0, 500), newer };
  }
}

/**
 * What a consumer does with an event a newer release wrote: it does not park or skip it (the newer release's
 * readers need it, and a rolling upgrade has them beside this one), it holds the offset back by throwing, and
 * it stops this process (stopSelf, exit code 75) so that the consumer group gives its partitions to a member
 * that can read them. An orchestrator restarting this release finds the same event and stops again: upgrade it.
 */
export class NewerReleaseEventError extends Error {
  constructor(readonly where: { topic: string; partition: number; offset: string }, reason: string) {
    super(`an event in ${where.topic} [${where.partition}] at ${where.offset} was written by a newer release of Hookpost (${reason}); this process is too old to read it and stops: upgrade it`);
    this.name = 'NewerReleaseEventError';
  }
}

/** Stops the process for an event from a newer release: logged once, then the ordinary shutdown, exit code 75. */
export function stopForNewerRelease(log: Logger, error: NewerReleaseEventError): never {
  if (!stoppingForNewerRelease) {
    stoppingForNewerRelease = true;
    log.fatal({ ...error.where }, error.message);
    stopSelf(75);
  }
  throw error;
}
let stoppingForNewerRelease = false;
