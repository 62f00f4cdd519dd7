/**
 * npm run bench: measures the running stack (npm start) on this machine and writes bench/results/<time>.json
 * and .md. Figures are reported, never asserted. Load goes only to 127.0.0.1.
 *
 * Phases (BENCH_PHASES, comma-separated; all by default):
 *   idle        no traffic for BENCH_IDLE_SECONDS: the CPU each service and broker uses doing nothing
 *   ingest      closed-loop ingest, next to a bare Express app answering 202 under the same load generator
 *   e2e         open-model end to end at each of BENCH_E2E_RATES (200, 500, 1500), with CPU per delivered webhook
 *   capacity    the highest open-model rate whose first-attempt p99 stays ≤ BENCH_CAPACITY_P99_MS (100)
 *   failing     open model where 10% of first attempts fail, so retries go through RabbitMQ
 *   projection  the projector paused while a backlog builds, then timed while it catches up
 *   scaleout    the same open-model run with one and with two dispatcher processes
 *   readafterwrite  a read sent the moment a write is answered, idle and under BENCH_RAW_LOAD_RATE/s of ingest:
 *               how long the read takes (it waits until the read model has applied the write)
 *   fanout      one Svix application with BENCH_FANOUT_ENDPOINTS endpoints, BENCH_FANOUT_RATE messages/s to it
 *               (open model): deliveries/s, message accepted → each endpoint's first byte, CPU per delivery
 *   ratelimit   one Svix application with an endpoint limited to BENCH_RATELIMIT_LIMIT/s and one without a limit,
 *               BENCH_RATELIMIT_RATE messages/s to it for BENCH_RATELIMIT_SECONDS (a backlog at the limited one):
 *               deliveries/s achieved against the limit, most in one second, wait p99, the unlimited one's p99
 *   ordered     one Svix application with one ordered endpoint (always 200), BENCH_ORDERED_MESSAGES messages sent one
 *               after the other: the lane's deliveries/s (one at a time, in order), 202 → arrival p50/p99, and a
 *               ledger with out-of-order arrivals counted (must be 0)
 *   logreplay   BENCH_LOGREPLAY_MESSAGES messages (100,000) sent to an application without endpoints, then replayed
 *               from the log to one endpoint (a background task): messages/s from the request to the last arrival
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';
import { closedLoop, openModel, Receiver } from './load';
import { createFanOutApplication, fanOutLoad } from './fanOut';
import { createRateLimitedApplication, rateLimitedLoad } from './rateLimited';
import { createOrderedApplication, orderedLoad } from './ordered';
import { cpuPerDelivery } from './fanOutLedger';
import { logReplay } from './logReplay';
import { percentile } from './percentile';
import { markdown } from './report';
import { spawnService } from '../test/support/processes';
import {
  api,
  authorized,
  BASE,
  cpuSecondsBetween,
  dispatcherLag,
  lagBetween,
  processUsage,
  projectorMetrics,
  rateLimitedAttempts,
  signalService,
  sleep,
  extraProcesses,
  LOAD_GENERATOR,
  serviceEnv,
  usageBetween,
} from './stack';

const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
export const settings = {
  phases: (process.env.BENCH_PHASES ?? 'idle,ingest,e2e,capacity,failing,projection,scaleout,readafterwrite,fanout,ratelimit,ordered,logreplay').split(','),
  idle_s: number('BENCH_IDLE_SECONDS', 30),
  capacity_p99_ms: number('BENCH_CAPACITY_P99_MS', 100),
  capacity_start: number('BENCH_CAPACITY_START_RATE', 400),
  capacity_seconds: number('BENCH_CAPACITY_SECONDS', 10),
  warmup_s: number('BENCH_WARMUP_SECONDS', 5),
  steady_s: number('BENCH_SECONDS', 15),
  connections: number('BENCH_CONNECTIONS', 64),
  e2e_rates: (process.env.BENCH_E2E_RATES ?? '200,500,1500').split(',').map(Number),
  failing_rate: number('BENCH_FAILING_RATE', 500),
  scaleout_rate: number('BENCH_SCALEOUT_RATE', 1000),
  projection_backlog: number('BENCH_PROJECTION_BACKLOG', 20_000),
  subscriptions: number('BENCH_SUBSCRIPTIONS', 8),
  stack_warmup_s: number('BENCH_STACK_WARMUP_SECONDS', 15),
  raw_pairs: number('BENCH_RAW_PAIRS', 200),
  raw_load_rate: number('BENCH_RAW_LOAD_RATE', 500),
  fanout_rate: number('BENCH_FANOUT_RATE', 50),
  fanout_endpoints: number('BENCH_FANOUT_ENDPOINTS', 100),
  fanout_drain_s: number('BENCH_FANOUT_DRAIN_SECONDS', 120),
  ratelimit_limit: number('BENCH_RATELIMIT_LIMIT', 50),
  ratelimit_rate: number('BENCH_RATELIMIT_RATE', 100),
  ratelimit_seconds: number('BENCH_RATELIMIT_SECONDS', 10),
  ordered_messages: number('BENCH_ORDERED_MESSAGES', 2_000),
  ordered_drain_s: number('BENCH_ORDERED_DRAIN_SECONDS', 300),
  logreplay_messages: number('BENCH_LOGREPLAY_MESSAGES', 100_000),
  logreplay_timeout_s: number('BENCH_LOGREPLAY_TIMEOUT_SECONDS', 900),
};

/**
 * Runs `work` and adds the CPU and memory every process used meanwhile; for a run that delivered webhooks
 * (`ledger.delivered`), also the CPU per delivered webhook: each process's CPU time over the whole run (warm-up
 * and drain included) divided by the webhooks it delivered, and the sum over the services and brokers (the
 * load generator and its receiver left out).
 */
async function withUsage<T extends object>(work: () => Promise<T>) {
  const before = processUsage();
  const started = Date.now();
  const result = await work();
  const after = processUsage();
  const delivered = (result as { ledger?: { delivered?: unknown } }).ledger?.delivered;
  return {
    ...result,
    processes: usageBetween(before, after, (Date.now() - started) / 1000),
    ...(typeof delivered === 'number' && delivered > 0 ? { cpu_per_webhook: cpuPerDelivery(cpuSecondsBetween(before, after), delivered, [LOAD_GENERATOR]) } : {}),
  };
}

/** The stack with no traffic at all: what each process uses idle (consumers polling, timers), % of one core. */
async function idle() {
  await caughtUp();
  await sleep(2_000);
  const before = processUsage();
  await sleep(settings.idle_s * 1000);
  const after = processUsage();
  const { [LOAD_GENERATOR]: _bench, ...stack } = usageBetween(before, after, settings.idle_s);
  const seconds = cpuSecondsBetween(before, after);
  const stackPercent = Object.entries(seconds).filter(([name]) => name !== LOAD_GENERATOR).reduce((sum, [, s]) => sum + s, 0) / settings.idle_s * 100;
  return { seconds: settings.idle_s, stack_cpu_percent: Math.round(stackPercent * 10) / 10, processes: stack };
}

/**
 * The capacity at an acceptable latency: the highest open-model rate whose first-attempt p99 stays within
 * BENCH_CAPACITY_P99_MS with nothing lost or refused. Rates grow by a quarter from BENCH_CAPACITY_START_RATE
 * until one fails, then the gap is halved twice.
 */
async function capacity(receiver: Receiver) {
  const limit = settings.capacity_p99_ms;
  const tried: { rate: number; first_attempt_p99_ms: number; refused: number; lost: number; ok: boolean; cpu_per_webhook_us?: number }[] = [];
  const attempt = async (rate: number) => {
    const run = await withUsage(() =>
      openModel({ receiver, rate, failing: false, subscriptions: settings.subscriptions, warmupSeconds: settings.warmup_s, seconds: settings.capacity_seconds, drainSeconds: 30 }),
    );
    const ok = run.steady.first_attempt_p99_ms <= limit && run.ledger.refused === 0 && run.ledger.lost === 0 && run.ledger.still_retrying === 0;
    tried.push({ rate, first_attempt_p99_ms: run.steady.first_attempt_p99_ms, refused: run.ledger.refused, lost: run.ledger.lost, ok, cpu_per_webhook_us: run.cpu_per_webhook?.total_us });
    console.error(`[bench] capacity: ${rate}/s → first-attempt p99 ${run.steady.first_attempt_p99_ms} ms${ok ? '' : ' (over)'}`);
    return ok;
  };
  let good = 0;
  let bad = 0;
  for (let rate = settings.capacity_start; tried.length < 12; rate = Math.round(rate * 1.25)) {
    if (await attempt(rate)) good = rate;
    else {
      bad = rate;
      break;
    }
  }
  for (let step = 0; step < 2 && bad > 0 && bad - good > 20; step += 1) {
    const middle = Math.round((good + bad) / 2);
    if (await attempt(middle)) good = middle;
    else bad = middle;
  }
  return { p99_limit_ms: limit, capacity_per_s: good, first_over_per_s: bad || null, tried };
}

async function bareExpress() {
  const app = express();
  app.use(express.json());
  app.post('/ingest/:id', (_req, res) => void res.status(202).json({ delivery_id: '00000000-0000-4000-8000-000000000000', status: 'pending' }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Freshly started services run cold (the JIT has not compiled their hot paths yet), which would count against
 * whichever phase came first: load the whole pipeline for a while first, unmeasured, and let it catch up.
 */
async function warmUp(receiver: Receiver) {
  const subscription = await api('POST', '/subscriptions', { name: 'bench-warm-up', target_url: receiver.url('/ok') });
  const body = JSON.stringify({ event_type: 'bench.event', data: { key: 'value' } });
  await closedLoop({ origin: BASE, path: `/ingest/${subscription.body.id}`, body, connections: settings.connections, warmupSeconds: settings.stack_warmup_s, seconds: 0 });
  await caughtUp();
  await api('DELETE', `/subscriptions/${subscription.body.id}`);
}

async function ingest(receiver: Receiver) {
  const load = { body: JSON.stringify({ event_type: 'bench.event', data: { key: 'value' } }), connections: settings.connections, warmupSeconds: settings.warmup_s, seconds: settings.steady_s };
  const bare = await bareExpress();
  const bareExpressResult = await closedLoop({ ...load, origin: bare.origin, path: '/ingest/x' });
  bare.server.close();

  // The webhooks this phase accepts are delivered to a receiver that answers 200 at once, so none retry.
  const subscription = await api('POST', '/subscriptions', { name: 'bench-ingest', target_url: receiver.url('/ok') });
  const hookpost = await withUsage(() => closedLoop({ ...load, origin: BASE, path: `/ingest/${subscription.body.id}` }));
  await caughtUp();
  // The same load with the dispatcher and projector paused: what the gateway and Kafka take on their own,
  // with the whole machine. The consumers catch up afterwards, before the next phase.
  const paused = ['dispatcher', 'projector'];
  for (const name of paused) signalService(name, 'SIGSTOP');
  let gatewayAlone;
  try {
    gatewayAlone = await withUsage(() => closedLoop({ ...load, origin: BASE, path: `/ingest/${subscription.body.id}` }));
  } finally {
    for (const name of paused) signalService(name, 'SIGCONT');
  }
  await caughtUp();
  await api('DELETE', `/subscriptions/${subscription.body.id}`);
  return {
    hookpost,
    hookpost_consumers_paused: gatewayAlone,
    bare_express: bareExpressResult,
    ratio: +(hookpost.requests_per_s / bareExpressResult.requests_per_s).toFixed(2),
    ratio_consumers_paused: +(gatewayAlone.requests_per_s / bareExpressResult.requests_per_s).toFixed(2),
  };
}

/**
 * Waits until the dispatcher has attempted every webhook recorded so far and the projector has applied every
 * event (both consumer lags zero), so that no backlog of one phase eats into the CPU of the next.
 */
async function caughtUp(): Promise<void> {
  const until = Date.now() + 300_000;
  await sleep(1_000);
  while ((await dispatcherLag()) > 0 && Date.now() < until) await sleep(500);
  while ((await projectorMetrics()).consumerLag > 0 && Date.now() < until) await sleep(500);
}

async function endToEnd(receiver: Receiver, rate: number, failing: boolean) {
  const before = await projectorMetrics();
  const run = await withUsage(() =>
    openModel({ receiver, rate, failing, subscriptions: settings.subscriptions, warmupSeconds: settings.warmup_s, seconds: settings.steady_s, drainSeconds: failing ? 90 : 60 }),
  );
  return { ...run, projection: lagBetween(before, await projectorMetrics()) };
}

/**
 * The projector's top speed: it is paused (SIGSTOP) while BENCH_PROJECTION_BACKLOG webhooks are ingested and
 * delivered, then resumed and timed until its consumer lag is back to zero. "Applying" starts at the first
 * progress seen (polled every 200 ms), after the consumer has rejoined its group.
 */
async function projection(receiver: Receiver) {
  const subscription = await api('POST', '/subscriptions', { name: 'bench-projection', target_url: receiver.url('/ok') });
  await sleep(1_000);
  // Paused, the projector's counters stand still: this scrape is where the catch-up starts from.
  const start = await projectorMetrics();
  signalService('projector', 'SIGSTOP');
  let backlog: string[];
  try {
    backlog = await ingestMany(subscription.body.id, settings.projection_backlog);
    const until = Date.now() + 120_000;
    while (backlog.some((id) => receiver.arrivals.get(id)?.ok === undefined) && Date.now() < until) await sleep(200);
  } finally {
    signalService('projector', 'SIGCONT');
  }
  const resumed = Date.now();
  const usageBefore = processUsage();
  let last = start;
  let firstProgress: number | undefined;
  const until = Date.now() + 300_000;
  do {
    await sleep(200);
    last = await projectorMetrics();
    if (firstProgress === undefined && last.events > start.events) firstProgress = Date.now() - 100;
  } while ((last.consumerLag > 0 || last.events === start.events) && Date.now() < until);
  const done = Date.now();
  const applying = (done - (firstProgress ?? resumed)) / 1000;
  await api('DELETE', `/subscriptions/${subscription.body.id}`);
  return {
    backlog_webhooks: backlog.length,
    events_applied: last.events - start.events,
    rows_written: last.rows - start.rows,
    seconds_to_catch_up: +((done - resumed) / 1000).toFixed(1),
    seconds_applying: +applying.toFixed(1),
    events_per_s: Math.round((last.events - start.events) / applying),
    rows_per_s: Math.round((last.rows - start.rows) / applying),
    consumer_lag_left: last.consumerLag,
    processes: usageBetween(usageBefore, processUsage(), (done - resumed) / 1000),
  };
}

/** Ingests `count` webhooks as fast as the gateway takes them; the ids it accepted. */
async function ingestMany(subscriptionId: string, count: number): Promise<string[]> {
  const pool = new Pool(BASE, { connections: settings.connections });
  const ids: string[] = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: settings.connections }, async () => {
      while (issued < count) {
        issued += 1;
        const answer = await pool.request({ method: 'POST', path: `/ingest/${subscriptionId}`, headers: authorized, body: JSON.stringify({ event_type: 'bench.event', data: { issued } }) });
        const text = await answer.body.text();
        if (answer.statusCode === 202) ids.push(JSON.parse(text).delivery_id);
      }
    }),
  );
  await pool.close();
  return ids;
}

async function scaleOut(receiver: Receiver) {
  const one = await endToEnd(receiver, settings.scaleout_rate, false);
  const second = await spawnService('dispatcher', { ...serviceEnv(), DISPATCHER_PORT: '0' });
  extraProcesses.set('dispatcher #2', second.child.pid!);
  try {
    // Let the consumer group hand half the partitions to the new member before the load starts.
    await sleep(8_000);
    const two = await endToEnd(receiver, settings.scaleout_rate, false);
    return { rate: settings.scaleout_rate, one_dispatcher: one, two_dispatchers: two };
  } finally {
    await second.stop();
    extraProcesses.delete('dispatcher #2');
  }
}

/**
 * Read-your-writes costs a wait: a read sent the moment a write is answered is served only once the read model
 * has applied that write. Sequential pairs (PATCH → GET subscription, ingest → GET delivery), timed from the
 * write's answer to the read's; a read that does not reflect its write is counted as stale (it must be 0).
 */
async function readAfterWrite(receiver: Receiver) {
  const subscription = await api('POST', '/subscriptions', { name: 'bench-read-after-write', target_url: receiver.url('/ok') });
  const id = subscription.body.id as string;
  const measure = async () => {
    const patchReads: number[] = [];
    const ingestReads: number[] = [];
    let stale = 0;
    for (let i = 0; i < settings.raw_pairs; i++) {
      await api('PATCH', `/subscriptions/${id}`, { description: `pair ${i}` });
      let started = performance.now();
      const read = await api('GET', `/subscriptions/${id}`);
      patchReads.push(performance.now() - started);
      if (read.body.description !== `pair ${i}`) stale += 1;
      const ingested = await api('POST', `/ingest/${id}`, { event_type: 'bench.event', data: { i } });
      started = performance.now();
      const delivery = await api('GET', `/deliveries/${ingested.body.delivery_id}`);
      ingestReads.push(performance.now() - started);
      if (delivery.status !== 200) stale += 1;
    }
    const summary = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { p50_ms: +percentile(sorted, 50).toFixed(1), p99_ms: +percentile(sorted, 99).toFixed(1) };
    };
    return { pairs: settings.raw_pairs, stale, patch_then_get: summary(patchReads), ingest_then_get: summary(ingestReads) };
  };
  const idle = await measure();
  // The same while an open-model load keeps the pipeline busy.
  let measuring = true;
  const load = openModel({ receiver, rate: settings.raw_load_rate, failing: false, subscriptions: settings.subscriptions, warmupSeconds: 2, seconds: 3_600, drainSeconds: 60, stopped: () => !measuring });
  let loaded;
  try {
    await sleep(3_000);
    loaded = await measure();
  } finally {
    measuring = false;
  }
  const background = await load;
  await caughtUp();
  await api('DELETE', `/subscriptions/${id}`);
  return { idle, loaded: { ...loaded, rate: settings.raw_load_rate, background_lost: background.ledger.lost } };
}

/**
 * Fan-out: every message to one application reaches each of its endpoints. The processes' CPU is reported over
 * the load (sending and drain, as the other open-model runs), and per delivery over the load plus the catch-up
 * after it (until the dispatcher and projector have handled every event of the run), so that each delivery's
 * whole cost is counted: the total is over the stack, services and brokers, without the load generator.
 */
async function fanOut(receiver: Receiver) {
  const app = await createFanOutApplication(receiver, settings.fanout_endpoints);
  try {
    await sleep(1_000);
    const before = processUsage();
    const started = Date.now();
    const run = await fanOutLoad({
      receiver,
      appId: app.appId,
      endpoints: settings.fanout_endpoints,
      rate: settings.fanout_rate,
      warmupSeconds: settings.warmup_s,
      seconds: settings.steady_s,
      drainSeconds: settings.fanout_drain_s,
    });
    const loaded = processUsage();
    const loadedAt = Date.now();
    await caughtUp();
    const after = processUsage();
    return {
      ...run,
      seconds_to_catch_up: +((Date.now() - loadedAt) / 1000).toFixed(1),
      processes: usageBetween(before, loaded, (loadedAt - started) / 1000),
      cpu_per_delivery: cpuPerDelivery(cpuSecondsBetween(before, after), run.ledger.deliveries_arrived, [LOAD_GENERATOR]),
    };
  } finally {
    await app.remove();
  }
}

/**
 * A rate-limited endpoint beside an unlimited one, offered twice its limit: what it achieves against the limit,
 * the most it got in one second, how long its deliveries waited and how far behind a perfect limiter, what the
 * dispatcher did with its attempts (in-process waits, deferrals), and whether the unlimited sibling was held up.
 * A receiver of its own, so the fan-out phase's arrivals are not mixed in.
 */
async function rateLimit() {
  const receiver = await new Receiver().start();
  const app = await createRateLimitedApplication(receiver, settings.ratelimit_limit);
  try {
    await sleep(1_000);
    const before = await rateLimitedAttempts();
    const run = await withUsage(() =>
      rateLimitedLoad({ receiver, appId: app.appId, perSecond: settings.ratelimit_limit, rate: settings.ratelimit_rate, seconds: settings.ratelimit_seconds, drainSlackSeconds: 60 }),
    );
    const after = await rateLimitedAttempts();
    const attempts = Object.fromEntries(Object.entries(after).map(([outcome, count]) => [outcome, count - (before[outcome] ?? 0)]));
    return { ...run, limited_attempts: attempts };
  } finally {
    await app.remove();
    receiver.close();
  }
}

/**
 * One ordered endpoint at a receiver that answers 200 at once: how many deliveries a second one lane makes (one
 * at a time, each after the one before ended), and that it made them in order. A receiver of its own.
 */
async function ordered() {
  const receiver = await new Receiver().start();
  const app = await createOrderedApplication(receiver);
  try {
    await sleep(1_000);
    return await withUsage(() => orderedLoad({ receiver, appId: app.appId, messages: settings.ordered_messages, drainSeconds: settings.ordered_drain_s }));
  } finally {
    await app.remove();
    receiver.close();
  }
}

async function main() {
  const receiver = await new Receiver().start();
  const result: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` },
    settings,
  };
  const phase = async (name: string, work: () => Promise<unknown>) => {
    if (!settings.phases.includes(name)) return;
    console.error(`[bench] ${name}…`);
    result[name] = await work();
  };
  if (settings.stack_warmup_s > 0) {
    console.error(`[bench] warming the stack up for ${settings.stack_warmup_s} s…`);
    await warmUp(receiver);
  }
  await phase('idle', () => idle());
  await phase('ingest', () => ingest(receiver));
  await phase('e2e', async () => {
    const runs = [];
    for (const rate of settings.e2e_rates) runs.push(await endToEnd(receiver, rate, false));
    return runs;
  });
  await phase('capacity', () => capacity(receiver));
  await phase('failing', () => endToEnd(receiver, settings.failing_rate, true));
  await phase('projection', () => projection(receiver));
  await phase('scaleout', () => scaleOut(receiver));
  await phase('readafterwrite', () => readAfterWrite(receiver));
  await phase('fanout', () => fanOut(receiver));
  await phase('ratelimit', () => rateLimit());
  await phase('ordered', () => ordered());
  await phase('logreplay', () =>
    withUsage(() =>
      logReplay({ receiver, messages: settings.logreplay_messages, connections: settings.connections, caughtUp, timeoutSeconds: settings.logreplay_timeout_s }),
    ),
  );
  receiver.close();

  const stamp = String(result.at).replace(/[:.]/g, '-');
  const out = process.env.BENCH_RESULTS_DIR ?? path.join(__dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, `${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  const md = markdown(result as never);
  writeFileSync(path.join(out, `${stamp}.md`), md);
  console.log(md);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
