/**
 * The two load shapes: a closed loop (ingest throughput) and an open model (end-to-end latency), with the
 * receiving endpoint in this same process so that send and arrival are timed on one clock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { endpointIndexOf, recordArrival, type FanOutArrivals } from './fanOutLedger';
import { percentile } from './percentile';
import { ORDERED_PATH, type OrderedArrival } from './orderedLedger';
import { api, authorized, BASE, sleep } from './stack';

const round = (value: number, digits = 1) => +value.toFixed(digits);

/** Closed loop: `connections` workers POST as fast as answers come back; the first `warmupSeconds` are not counted. */
export async function closedLoop(options: { origin: string; path: string; body: string; connections: number; warmupSeconds: number; seconds: number }) {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const measureFrom = Date.now() + options.warmupSeconds * 1000;
  const end = measureFrom + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        let status = 'error';
        try {
          const answer = await pool.request({ method: 'POST', path: options.path, headers: authorized, body: options.body });
          await answer.body.dump();
          status = String(answer.statusCode);
        } catch {
          // counted as an error
        }
        if (Date.now() < measureFrom) continue;
        statuses[status] = (statuses[status] ?? 0) + 1;
        latencies.push(performance.now() - started);
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    requests_per_s: options.seconds > 0 ? Math.round((statuses['202'] ?? 0) / options.seconds) : 0,
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    statuses,
  };
}

type Arrival = { first: number; ok?: number; attempts: number };

/**
 * The receiving endpoint. Each subscription gets its own path; on a `fail10` path every tenth webhook's first
 * attempt is answered 500, so the retry path (RabbitMQ delay queues) carries load too. The fan-out phase's
 * endpoints each have a path `/ep/<index>`, answered 200 at once.
 */
export class Receiver {
  readonly arrivals = new Map<string, Arrival>();
  /** Requests to the fan-out paths (`/ep/<index>`): a message's webhook-id is the same at every endpoint, so they are kept per endpoint. */
  readonly fanOutArrivals: FanOutArrivals = new Map();
  /** Requests to the ordered phase's endpoint (ORDERED_PATH), in the order they came. */
  readonly orderedArrivals: OrderedArrival[] = [];
  private firstAttempts = 0;
  private readonly server = http.createServer((req, res) => {
    const now = performance.now();
    const id = String(req.headers['webhook-id']);
    if (req.url === ORDERED_PATH) {
      this.orderedArrivals.push({ id, at: now });
      req.resume();
      req.on('end', () => res.writeHead(200).end());
      return;
    }
    const endpoint = endpointIndexOf(req.url);
    if (endpoint !== undefined) {
      recordArrival(this.fanOutArrivals, id, endpoint, now);
      req.resume();
      req.on('end', () => res.writeHead(200).end());
      return;
    }
    let arrival = this.arrivals.get(id);
    if (!arrival) {
      arrival = { first: now, attempts: 0 };
      this.arrivals.set(id, arrival);
      this.firstAttempts += 1;
    }
    arrival.attempts += 1;
    const fail = req.url === '/fail10' && arrival.attempts === 1 && this.firstAttempts % 10 === 0;
    if (!fail) arrival.ok ??= now;
    req.resume();
    req.on('end', () => res.writeHead(fail ? 500 : 200).end());
  });

  async start(): Promise<this> {
    this.server.keepAliveTimeout = 60_000;
    this.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    return this;
  }

  url(pathName: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${pathName}`;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/**
 * Open model: `rate` webhooks a second on a fixed schedule, whatever the answers do: warm-up, then the steady
 * phase that is measured, then a drain that waits for every accepted webhook. Latency runs from the scheduled
 * send time to the receiver reading the request (its first attempt, and the attempt it answered 2xx).
 * The ledger is exact: every accepted webhook is delivered, still retrying (its delivery says so), or lost.
 */
export async function openModel(options: {
  receiver: Receiver;
  rate: number;
  warmupSeconds: number;
  seconds: number;
  failing: boolean;
  drainSeconds: number;
  /** Webhooks are keyed by subscription, so the load is spread over this many to use every partition. */
  subscriptions: number;
  /** Ends the sending early (background load for another measurement). */
  stopped?: () => boolean;
}) {
  const { receiver, rate } = options;
  const subscriptionIds: string[] = [];
  for (let index = 0; index < options.subscriptions; index += 1) {
    const created = await api('POST', '/subscriptions', { name: `bench-${rate}-${index}${options.failing ? '-fail10' : ''}`, target_url: receiver.url(options.failing ? '/fail10' : '/ok') });
    if (created.status !== 201) throw new Error(`could not create a subscription: ${JSON.stringify(created.body)}`);
    subscriptionIds.push(created.body.id);
  }
  await sleep(500);
  const pool = new Pool(BASE, { connections: 128 });
  const accepted = new Map<string, { due: number; measured: boolean }>();
  const statuses: Record<string, number> = {};
  const sends: Promise<void>[] = [];
  const total = rate * (options.warmupSeconds + options.seconds);
  const warmupSends = rate * options.warmupSeconds;
  const start = performance.now();
  for (let n = 0; n < total; n += 1) {
    if (options.stopped?.()) break;
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const measured = n >= warmupSends;
    sends.push(
      pool
        .request({ method: 'POST', path: `/ingest/${subscriptionIds[n % subscriptionIds.length]}`, headers: authorized, body: JSON.stringify({ event_type: 'bench.event', data: { n } }) })
        .then(async (answer) => {
          const text = await answer.body.text();
          statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
          if (answer.statusCode === 202) accepted.set(JSON.parse(text).delivery_id, { due, measured });
        })
        .catch(() => {
          statuses.error = (statuses.error ?? 0) + 1;
        }),
    );
  }
  const sendingEnded = performance.now();
  await Promise.all(sends);
  const pending = () => [...accepted.keys()].filter((id) => receiver.arrivals.get(id)?.ok === undefined);
  const drainUntil = performance.now() + options.drainSeconds * 1000;
  while (pending().length > 0 && performance.now() < drainUntil) await sleep(100);
  const drainSeconds = (performance.now() - sendingEnded) / 1000;

  // Whatever has not arrived: still retrying if its delivery says so, otherwise lost.
  let stillRetrying = 0;
  let lost = 0;
  for (const id of pending()) {
    const delivery = await api('GET', `/deliveries/${id}`);
    if (delivery.status === 200 && ['pending', 'retrying'].includes(delivery.body.status)) stillRetrying += 1;
    else lost += 1;
  }
  await pool.close();
  for (const id of subscriptionIds) await api('DELETE', `/subscriptions/${id}`);

  const steady = [...accepted].filter(([, sent]) => sent.measured);
  const toFirst = steady.flatMap(([id, sent]) => (receiver.arrivals.has(id) ? [receiver.arrivals.get(id)!.first - sent.due] : [])).sort((a, b) => a - b);
  const toOk = steady.flatMap(([id, sent]) => (receiver.arrivals.get(id)?.ok !== undefined ? [receiver.arrivals.get(id)!.ok! - sent.due] : [])).sort((a, b) => a - b);
  const retried = [...accepted.keys()].filter((id) => (receiver.arrivals.get(id)?.attempts ?? 0) > 1).length;
  const delivered = accepted.size - stillRetrying - lost;
  const steadyArrivals = steady.filter(([id]) => receiver.arrivals.has(id)).map(([id]) => receiver.arrivals.get(id)!.first);
  // (reduce, not Math.max(...): a two-minute run has more arrivals than the stack has room for arguments)
  const steadySpan = (steadyArrivals.reduce((a, b) => Math.max(a, b), -Infinity) - steadyArrivals.reduce((a, b) => Math.min(a, b), Infinity)) / 1000;
  return {
    offered_per_s: rate,
    subscriptions: options.subscriptions,
    failing_first_attempts: options.failing ? 0.1 : 0,
    phases_s: { warmup: options.warmupSeconds, steady: options.seconds, drain: round(drainSeconds) },
    ledger: { sent: sends.length, accepted: accepted.size, refused: total - accepted.size, delivered, still_retrying: stillRetrying, lost, retried },
    statuses,
    steady: {
      sent: steady.length,
      first_attempts_per_s: Math.round(toFirst.length / steadySpan),
      first_attempt_p50_ms: round(percentile(toFirst, 50)),
      first_attempt_p99_ms: round(percentile(toFirst, 99)),
      delivered_p50_ms: round(percentile(toOk, 50)),
      delivered_p99_ms: round(percentile(toOk, 99)),
    },
  };
}
