/**
 * Issue #17 item 4: kafkajs (as pinned) against @platformatic/kafka on the same local broker, side by side.
 * Reports, never asserts. Run it under the shared machine lock, a few cases at a time:
 *
 *   flock -o /tmp/hookpost-bench.lock node --import tsx bench/kafkaClients.ts produce200 produce500
 *
 * (-o: the lock is not inherited by anything the command leaves running.)
 *
 * Cases (all by default; KCB_RUNS runs of each per client, 3 by default, the clients' order alternating):
 *   produce200, produce500  one ~1 KiB message (a key, 3 headers) per send, paced at 200/500 per second for
 *                           KCB_SECONDS (10), each send awaited, acks=all on an idempotent producer: the gateway
 *                           at light load. Concurrent sends are coalesced as KafkaEventLog does.
 *   produceHeavy            64 senders, each sending its next message as soon as the last is acknowledged,
 *                           coalesced into batches, for KCB_SECONDS: messages/s
 *   consume200, consume500  a consumer group member (long poll: minBytes KCB_MIN_BYTES=1, maxWait KCB_MAX_WAIT_MS=1000)
 *                           reading a fresh topic that another process fills with kafkajs at 200/500 per second;
 *                           each message handled trivially, offsets committed every 200 ms
 *   consumeBacklog          the same member catching up a backlog of KCB_BACKLOG (100,000) messages
 *   idle                    a connected member of a group whose topic stays empty, for KCB_IDLE_SECONDS (20)
 *   harness200, harness500  produce200/500 with a send that does nothing: the harness's own CPU per message,
 *                           to take off the produce figures
 *
 * Every measured figure comes from one child process that runs a single client: its own CPU
 * (process.cpuUsage(), user+system) and the broker JVM's (utime+stime from /proc/<pid>/stat, the pid in
 * .hookpost/run/kafka.started) over the same window, both per message (per second when idle). The broker is
 * shared: other work on it lands in its figure, so a quiet-broker sample is printed before each case.
 * Topics are this run's own (kclient-bench-<pid>-<time>-…, 4 partitions, flush.messages=1 like the event topics)
 * and are deleted at the end, with the groups. Results: bench/results/kafkaClients-<time>.json and .md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type Producer as KafkajsProducer } from 'kafkajs';
import { ensureTopics } from '../packages/platform/src/kafka';
import { percentile } from './percentile';
import { cpuMicros, formatRange, perMessage, procStatTicks, range, ticksToMicros } from './kafkaClientsMath';

/** 'none': the harness alone (pacing, building messages, coalescing) with a send that does nothing. */
type ClientName = 'kafkajs' | 'platformatic' | 'none';
const CLIENTS = ['kafkajs', 'platformatic'] as const;
const CASES = ['produce200', 'produce500', 'produceHeavy', 'consume200', 'consume500', 'consumeBacklog', 'idle', 'harness200', 'harness500'] as const;
type CaseName = (typeof CASES)[number];
const clientsOf = (name: CaseName): readonly ClientName[] => (name === 'harness200' || name === 'harness500' ? ['none'] : CLIENTS);

const ROOT = path.resolve(__dirname, '..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PARTITIONS = 4;
const SECONDS = Number(process.env.KCB_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const IDLE_SECONDS = Number(process.env.KCB_IDLE_SECONDS ?? 20);
const BACKLOG = Number(process.env.KCB_BACKLOG ?? 100_000);
const RUNS = Number(process.env.KCB_RUNS ?? 3);
const MIN_BYTES = Number(process.env.KCB_MIN_BYTES ?? 1);
const MAX_WAIT_MS = Number(process.env.KCB_MAX_WAIT_MS ?? 1_000);
const COMMIT_INTERVAL_MS = 200;
const HEAVY_SENDERS = 64;

/** @platformatic/kafka is an ES module only; this file is CommonJS, as the rest of the bench. */
type Platformatic = typeof import('@platformatic/kafka', { with: { 'resolution-mode': 'import' } });
const platformatic = (): Promise<Platformatic> => import('@platformatic/kafka');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// What is measured: the broker's CPU and our own over a window.

const brokerPid = (): number => Number(readFileSync(path.join(STATE, 'run', 'kafka.started'), 'utf8').trim().split(/\s+/)[0]);
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

class Window {
  private readonly pid = brokerPid();
  private cpu = process.cpuUsage();
  private broker = this.brokerTicks();
  private at = performance.now();

  private brokerTicks(): number {
    return procStatTicks(readFileSync(`/proc/${this.pid}/stat`, 'utf8'));
  }

  restart(): void {
    this.cpu = process.cpuUsage();
    this.broker = this.brokerTicks();
    this.at = performance.now();
  }

  /** CPU in µs (ours, the broker's) and wall ms since the start. */
  close(): { clientMicros: number; brokerMicros: number; wallMs: number } {
    return {
      clientMicros: cpuMicros(this.cpu, process.cpuUsage()),
      brokerMicros: ticksToMicros(this.brokerTicks() - this.broker, TICKS_PER_SECOND),
      wallMs: performance.now() - this.at,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// The two clients behind one small shape each: a batch send, and a group member with manual commits.

type OutMessage = { topic: string; key: string; value: string; headers: Record<string, string> };

type BenchProducer = { sendBatch: (messages: OutMessage[]) => Promise<void>; close: () => Promise<void> };

async function connectProducer(client: ClientName, clientId: string): Promise<BenchProducer> {
  switch (client) {
    case 'kafkajs': {
      // As KafkaEventLog builds it: idempotent, one request in flight, acks=all.
      const producer: KafkajsProducer = new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING }).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return {
        sendBatch: async (messages) => {
          const byTopic = new Map<string, OutMessage[]>();
          for (const message of messages) byTopic.set(message.topic, [...(byTopic.get(message.topic) ?? []), message]);
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list.map(({ key, value, headers }) => ({ key, value, headers })) })),
          });
        },
        close: () => producer.disconnect(),
      };
    }
    case 'none':
      return { sendBatch: () => new Promise<void>((resolve) => setImmediate(resolve)), close: async () => undefined };
    case 'platformatic': {
      const { Producer, stringSerializers } = await platformatic();
      const producer = new Producer({
        clientId,
        bootstrapBrokers: BROKERS,
        idempotent: true,
        acks: -1,
        autocreateTopics: false,
        serializers: stringSerializers,
      });
      return {
        sendBatch: async (messages) => {
          await producer.send({ messages });
        },
        close: () => producer.close(),
      };
    }
  }
}

/**
 * KafkaEventLog's coalescing, without its validation and tracing: while one batch is in flight the next
 * sends queue, and go out together as the next batch. The same for both clients, so only the client differs.
 */
class Coalescer {
  private queue: { message: OutMessage; done: (error?: unknown) => void }[] = [];
  private flushing = false;
  constructor(private readonly producer: BenchProducer) {}

  send(message: OutMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.producer.sendBatch(batch.map(({ message }) => message));
        for (const { done } of batch) done();
      } catch (error) {
        for (const { done } of batch) done(error ?? new Error('send failed'));
      }
    }
    this.flushing = false;
  }
}

type Consumed = { topic: string; partition: number; offset: bigint };
type BenchConsumer = { close: () => Promise<void> };

/**
 * Joins `groupId` on `topic` from the earliest offset and calls `onMessage` for each message; every 200 ms
 * commits, per partition, the offset after the last message handled (as startConcurrentConsumer does).
 * Resolves once the member has its assignment.
 */
async function startConsumer(client: ClientName, clientId: string, groupId: string, topic: string, onMessage: (consumed: Consumed) => void): Promise<BenchConsumer> {
  const next = new Map<number, bigint>();
  const committed = new Map<number, bigint>();
  const toCommit = () => {
    const offsets: { partition: number; offset: bigint }[] = [];
    for (const [partition, offset] of next) if (committed.get(partition) !== offset) offsets.push({ partition, offset });
    return offsets;
  };
  const handle = (consumed: Consumed) => {
    next.set(consumed.partition, consumed.offset + 1n);
    onMessage(consumed);
  };
  switch (client) {
    case 'none':
      throw new Error('the harness alone has no consumer');
    case 'kafkajs': {
      const consumer = new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING }).consumer({
        groupId,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxBytesPerPartition: 1_048_576,
        minBytes: MIN_BYTES,
        maxWaitTimeInMs: MAX_WAIT_MS,
      });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const commit = async () => {
        const offsets = toCommit();
        if (offsets.length === 0) return;
        await consumer.commitOffsets(offsets.map(({ partition, offset }) => ({ topic, partition, offset: offset.toString() })));
        for (const { partition, offset } of offsets) committed.set(partition, offset);
      };
      const timer = setInterval(() => void commit().catch(() => undefined), COMMIT_INTERVAL_MS);
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: PARTITIONS,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const message of batch.messages) {
            handle({ topic: batch.topic, partition: batch.partition, offset: BigInt(message.offset) });
            resolveOffset(message.offset);
          }
          await heartbeat();
        },
      });
      await joined;
      return {
        close: async () => {
          clearInterval(timer);
          await commit().catch(() => undefined);
          await consumer.disconnect();
        },
      };
    }
    case 'platformatic': {
      const { Consumer } = await platformatic();
      const consumer = new Consumer({ clientId, groupId, bootstrapBrokers: BROKERS });
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        minBytes: MIN_BYTES,
        maxWaitTime: MAX_WAIT_MS,
        maxBytesPerPartition: 1_048_576,
      });
      stream.on('data', (message) => handle({ topic: message.topic, partition: message.partition, offset: message.offset }));
      const commit = async () => {
        const offsets = toCommit();
        if (offsets.length === 0) return;
        // leaderEpoch -1: not known, which the broker accepts (the stream's own commits use the fetched one).
        await consumer.commit({ offsets: offsets.map(({ partition, offset }) => ({ topic, partition, offset, leaderEpoch: -1 })) });
        for (const { partition, offset } of offsets) committed.set(partition, offset);
      };
      const timer = setInterval(() => void commit().catch(() => undefined), COMMIT_INTERVAL_MS);
      return {
        close: async () => {
          clearInterval(timer);
          await commit().catch(() => undefined);
          await stream.close();
          await consumer.close();
        },
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The messages: ~1 KiB of JSON like an event, a key, three headers like the gateway's.

const filler = 'x'.repeat(760);
let sequence = 0;
function message(topic: string): OutMessage {
  sequence += 1;
  const id = `msg_${process.pid}_${sequence}`;
  const value = JSON.stringify({
    schemaVersion: 1,
    type: 'message.accepted',
    eventId: id,
    tenantId: 'tenant_bench',
    endpointId: `ep_${sequence % 97}`,
    occurredAt: new Date().toISOString(),
    payload: { kind: 'invoice.paid', data: filler },
  });
  return {
    topic,
    key: `ep_${sequence % 97}`,
    value,
    headers: {
      traceparent: `00-${sequence.toString(16).padStart(32, '0')}-${'1'.repeat(16)}-01`,
      'content-type': 'application/json',
      'x-hookpost-schema': '1',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Child roles. Each sends its result to the driver over IPC.

type Role =
  | { role: 'produce'; client: ClientName; topic: string; load: { kind: 'paced'; rate: number } | { kind: 'heavy' } }
  | { role: 'consume'; client: ClientName; topic: string; groupId: string; warmup: number; measured: number }
  | { role: 'idle'; client: ClientName; topic: string; groupId: string }
  | { role: 'feed'; topic: string; rate: number; count: number }
  | { role: 'fill'; topic: string; count: number };

export type Measured = {
  messages: number;
  clientMicros: number;
  brokerMicros: number;
  wallMs: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Backlog only: from the first message to the last, for the catch-up rate. */
  firstToLastMs?: number;
};

/** Sends at `rate` per second, by the clock (so a late timer sends what is due), until `stopAt`. */
async function paced(coalescer: Coalescer, topic: string, rate: number, count: number, latencies?: number[]): Promise<void> {
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let sent = 0; sent < count; ) {
    const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1_000) + 1);
    for (; sent < due; sent += 1) {
      const at = performance.now();
      pending.push(coalescer.send(message(topic)).then(() => void latencies?.push(performance.now() - at)));
    }
    await sleep(Math.max(0, start + (sent * 1_000) / rate - performance.now()));
  }
  await Promise.all(pending);
}

/** `senders` loops, each sending its next message once the last is acknowledged, until `until` (ms clock). */
async function closedLoop(coalescer: Coalescer, topic: string, senders: number, until: () => boolean, latencies?: number[]): Promise<number> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (!until()) {
        const at = performance.now();
        await coalescer.send(message(topic));
        latencies?.push(performance.now() - at);
        sent += 1;
      }
    }),
  );
  return sent;
}

async function runRole(role: Role): Promise<Measured | { ready: true } | { done: true }> {
  switch (role.role) {
    case 'produce': {
      const producer = await connectProducer(role.client, `kcb-${role.client}-produce`);
      const coalescer = new Coalescer(producer);
      try {
        const latencies: number[] = [];
        let messages: number;
        if (role.load.kind === 'paced') {
          await paced(coalescer, role.topic, role.load.rate, role.load.rate * WARMUP_SECONDS);
          const window = new Window();
          messages = role.load.rate * SECONDS;
          await paced(coalescer, role.topic, role.load.rate, messages, latencies);
          return finish(window.close(), messages, latencies);
        }
        const warmEnd = performance.now() + WARMUP_SECONDS * 1_000;
        await closedLoop(coalescer, role.topic, HEAVY_SENDERS, () => performance.now() > warmEnd);
        const window = new Window();
        const end = performance.now() + SECONDS * 1_000;
        messages = await closedLoop(coalescer, role.topic, HEAVY_SENDERS, () => performance.now() > end, latencies);
        return finish(window.close(), messages, latencies);
      } finally {
        await producer.close();
      }
    }
    case 'consume': {
      // The window opens once the warm-up messages are in and closes when the measured ones are.
      let seen = 0;
      let window: Window | undefined;
      let first = 0;
      let last = 0;
      const total = role.warmup + role.measured;
      let finished: (result: { clientMicros: number; brokerMicros: number; wallMs: number }) => void = () => undefined;
      const done = new Promise<{ clientMicros: number; brokerMicros: number; wallMs: number }>((resolve) => (finished = resolve));
      if (role.warmup === 0) window = new Window();
      const consumer = await startConsumer(role.client, `kcb-${role.client}-consume`, role.groupId, role.topic, () => {
        seen += 1;
        const now = performance.now();
        if (seen === role.warmup + 1 || (role.warmup === 0 && seen === 1)) first = now;
        if (seen === role.warmup) window = new Window();
        if (seen === total) {
          last = now;
          finished(window!.close());
        }
      });
      process.send!({ ready: true });
      const result = await done;
      await consumer.close();
      return { ...result, messages: role.measured, ...(role.warmup === 0 ? { firstToLastMs: last - first } : {}) };
    }
    case 'idle': {
      const consumer = await startConsumer(role.client, `kcb-${role.client}-idle`, role.groupId, role.topic, () => undefined);
      await sleep(2_000);
      const window = new Window();
      await sleep(IDLE_SECONDS * 1_000);
      const result = window.close();
      await consumer.close();
      return { ...result, messages: 0 };
    }
    case 'feed': {
      const producer = await connectProducer('kafkajs', 'kcb-feed');
      await paced(new Coalescer(producer), role.topic, role.rate, role.count);
      await producer.close();
      return { done: true };
    }
    case 'fill': {
      const producer = await connectProducer('kafkajs', 'kcb-fill');
      const coalescer = new Coalescer(producer);
      let left = role.count;
      await Promise.all(
        Array.from({ length: HEAVY_SENDERS }, async () => {
          while (left > 0) {
            left -= 1;
            await coalescer.send(message(role.topic));
          }
        }),
      );
      await producer.close();
      return { done: true };
    }
  }
}

function finish(window: { clientMicros: number; brokerMicros: number; wallMs: number }, messages: number, latencies: number[]): Measured {
  const sorted = latencies.sort((a, b) => a - b);
  return { ...window, messages, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

// ---------------------------------------------------------------------------------------------------------
// The driver.

function child(role: Role): { process: ChildProcess; message: (predicate: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> } {
  const proc = fork(__filename, ['--role', JSON.stringify(role)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
  const message = (predicate: (m: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!predicate(m)) return;
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code: number | null) => reject(new Error(`${role.role} child exited (${code}) before answering`));
      proc.on('message', onMessage);
      proc.on('exit', onExit);
    });
  return { process: proc, message };
}

const exited = (proc: ChildProcess) => new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve())));

async function measureOnce(name: CaseName, client: ClientName, topicFor: (purpose: string) => Promise<string>, backlogTopic: () => Promise<string>, run: number): Promise<Measured> {
  const groupId = `${PREFIX}group-${name}-${client}-${run}`;
  groups.push(groupId);
  switch (name) {
    case 'produce200':
    case 'produce500':
    case 'harness200':
    case 'harness500':
    case 'produceHeavy': {
      const load = name === 'produceHeavy' ? ({ kind: 'heavy' } as const) : ({ kind: 'paced', rate: name.endsWith('200') ? 200 : 500 } as const);
      const c = child({ role: 'produce', client, topic: await topicFor('produce'), load });
      const result = await c.message((m) => 'messages' in m);
      await exited(c.process);
      return result as Measured;
    }
    case 'consume200':
    case 'consume500': {
      const rate = name === 'consume200' ? 200 : 500;
      const topic = await topicFor(`${name}-${client}-${run}`);
      const warmup = rate * WARMUP_SECONDS;
      const measured = rate * SECONDS;
      const c = child({ role: 'consume', client, topic, groupId, warmup, measured });
      await c.message((m) => m.ready === true);
      const feeder = child({ role: 'feed', topic, rate, count: warmup + measured });
      const result = await c.message((m) => 'messages' in m);
      await Promise.all([exited(c.process), exited(feeder.process)]);
      return result as Measured;
    }
    case 'consumeBacklog': {
      const c = child({ role: 'consume', client, topic: await backlogTopic(), groupId, warmup: 0, measured: BACKLOG });
      const result = await c.message((m) => 'messages' in m);
      await exited(c.process);
      return result as Measured;
    }
    case 'idle': {
      const c = child({ role: 'idle', client, topic: await topicFor(`idle-${client}-${run}`), groupId });
      const result = await c.message((m) => 'messages' in m);
      await exited(c.process);
      return result as Measured;
    }
  }
}

const PREFIX = `kclient-bench-${process.pid}-${Date.now()}-`;
const groups: string[] = [];

async function drive(cases: CaseName[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'kcb-admin', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = new Map<string, string>();
  const topicFor = async (purpose: string) => {
    let topic = topics.get(purpose);
    if (!topic) {
      topic = `${PREFIX}${purpose}`;
      await ensureTopics(admin, [topic], PARTITIONS, 1);
      topics.set(purpose, topic);
    }
    return topic;
  };
  let backlog: string | undefined;
  const backlogTopic = async () => {
    if (!backlog) {
      backlog = await topicFor('backlog');
      const filler = child({ role: 'fill', topic: backlog, count: BACKLOG });
      await filler.message((m) => m.done === true);
      await exited(filler.process);
    }
    return backlog;
  };
  const results: Record<string, Partial<Record<ClientName, Measured[]>>> = {};
  const quiet: Record<string, number> = {};
  try {
    for (const name of cases) {
      // The broker on its own for 3 s: what other users add to its figure.
      const window = new Window();
      await sleep(3_000);
      quiet[name] = (window.close().brokerMicros / 3);
      if (name === 'consumeBacklog') await backlogTopic();
      const byClient: Partial<Record<ClientName, Measured[]>> = (results[name] = {});
      for (let run = 1; run <= RUNS; run += 1) {
        const order = run % 2 === 1 ? clientsOf(name) : [...clientsOf(name)].reverse();
        for (const client of order) {
          const measured = await measureOnce(name, client, topicFor, backlogTopic, run);
          (byClient[client] ??= []).push(measured);
          console.log(`${name} run ${run} ${client}: ${JSON.stringify(summary(name, [measured]))}`);
        }
      }
    }
  } finally {
    const created = [...topics.values()];
    if (created.length > 0) await admin.deleteTopics({ topics: created }).catch((error) => console.error('could not delete topics', created, error));
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  }
  const table = report(results, quiet);
  console.log(table);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const settings = { seconds: SECONDS, idleSeconds: IDLE_SECONDS, backlog: BACKLOG, runs: RUNS, minBytes: MIN_BYTES, maxWaitMs: MAX_WAIT_MS, partitions: PARTITIONS };
  writeFileSync(path.join(ROOT, 'bench', 'results', `kafkaClients-${stamp}.json`), JSON.stringify({ settings, quiet, results }, null, 2));
  writeFileSync(path.join(ROOT, 'bench', 'results', `kafkaClients-${stamp}.md`), `settings: ${JSON.stringify(settings)}\n\n${table}\n`);
}

/** Per-run figures for one case and client: CPU per message (per second when idle), rate, latency. */
function summary(name: CaseName, runs: Measured[]) {
  const idle = name === 'idle';
  return runs.map((m) => ({
    clientUs: idle ? m.clientMicros / (m.wallMs / 1_000) : perMessage(m.clientMicros, m.messages),
    brokerUs: idle ? m.brokerMicros / (m.wallMs / 1_000) : perMessage(m.brokerMicros, m.messages),
    perSecond: idle ? NaN : m.messages / ((m.firstToLastMs ?? m.wallMs) / 1_000),
    p50Ms: m.p50Ms ?? NaN,
    p99Ms: m.p99Ms ?? NaN,
  }));
}

function report(results: Record<string, Partial<Record<ClientName, Measured[]>>>, quiet: Record<string, number>): string {
  const lines = [
    '| case | client | client CPU µs/msg | broker CPU µs/msg | broker less quiet µs/msg | msgs/s | p50 ms | p99 ms | quiet broker µs/s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, byClient] of Object.entries(results)) {
    for (const client of clientsOf(name as CaseName)) {
      // The broker's figure less what it used on its own (other users) in the 3 s before the case.
      const rows = summary(name as CaseName, byClient[client] ?? []).map((row) => ({
        ...row,
        brokerNetUs: row.brokerUs - (name === 'idle' ? quiet[name]! : quiet[name]! / row.perSecond),
      }));
      const pick = (key: keyof (typeof rows)[number], digits = 0) => formatRange(range(rows.map((row) => row[key])), digits);
      const unit = name === 'idle' ? ' (µs/s)' : '';
      lines.push(`| ${name}${unit} | ${client} | ${pick('clientUs')} | ${pick('brokerUs')} | ${pick('brokerNetUs')} | ${pick('perSecond')} | ${pick('p50Ms', 1)} | ${pick('p99Ms', 1)} | ${quiet[name]!.toFixed(0)} |`);
    }
  }
  return lines.join('\n');
}

if (process.argv[2] === '--role') {
  const role = JSON.parse(process.argv[3]!) as Role;
  runRole(role).then(
    (result) => {
      process.send!(result, () => process.exit(0));
    },
    (error: unknown) => {
      console.error(`${role.role} failed:`, error);
      process.exit(1);
    },
  );
} else {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(CASES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(`unknown case(s) ${unknown.join(', ')}; known: ${CASES.join(', ')}`);
    process.exit(2);
  }
  drive(asked.length > 0 ? (asked as CaseName[]) : [...CASES]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
