/**
 * The fan-out load: one application of the Svix-compatible API (/api/v1) with `endpoints` endpoints, all at the
 * bench's receiver (`/ep/<index>`), and messages sent to it on a fixed schedule (open model). Each message is
 * one MessageCreated event that the dispatcher fans out to every endpoint.
 */
import { Pool } from 'undici';
import { deliveriesArrived, fanOutLedger, FAN_OUT_PATH_PREFIX, type AcceptedMessage } from './fanOutLedger';
import type { Receiver } from './load';
import { api, authorized, BASE, sleep } from './stack';

/** Creates the application and its endpoints; `remove` deletes the application (and so its endpoints). */
export async function createFanOutApplication(receiver: Receiver, endpoints: number): Promise<{ appId: string; remove: () => Promise<void> }> {
  const app = await api('POST', '/api/v1/app', { name: `bench-fanout-${endpoints}` });
  if (app.status !== 201) throw new Error(`could not create an application: ${app.status} ${JSON.stringify(app.body)}`);
  const appId = app.body.id as string;
  // A few at a time: creation goes through each endpoint's writer lock, and 100 in a row take a while.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < endpoints) {
        const index = next++;
        const created = await api('POST', `/api/v1/app/${appId}/endpoint`, { url: receiver.url(`${FAN_OUT_PATH_PREFIX}${index}`), description: `bench endpoint ${index}` });
        if (created.status !== 201) throw new Error(`could not create endpoint ${index}: ${created.status} ${JSON.stringify(created.body)}`);
      }
    }),
  );
  return { appId, remove: async () => void (await api('DELETE', `/api/v1/app/${appId}`)) };
}

/**
 * `rate` messages a second on a fixed schedule, whatever the answers do: warm-up (not measured), steady, then
 * a drain that waits (at most `drainSeconds`) until every accepted message has reached every endpoint.
 */
export async function fanOutLoad(options: { receiver: Receiver; appId: string; endpoints: number; rate: number; warmupSeconds: number; seconds: number; drainSeconds: number }) {
  const { receiver, appId, endpoints, rate } = options;
  const pool = new Pool(BASE, { connections: 64 });
  const accepted = new Map<string, AcceptedMessage>();
  const statuses: Record<string, number> = {};
  const sends: Promise<void>[] = [];
  const total = Math.round(rate * (options.warmupSeconds + options.seconds));
  const warmupSends = Math.round(rate * options.warmupSeconds);
  const body = (n: number) => JSON.stringify({ eventType: 'bench.fanout', payload: { n, key: 'value' } });
  const start = performance.now();
  for (let n = 0; n < total; n += 1) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const measured = n >= warmupSends;
    sends.push(
      pool
        // (with_content=false: the answer need not echo the payload back)
        .request({ method: 'POST', path: `/api/v1/app/${appId}/msg?with_content=false`, headers: authorized, body: body(n) })
        .then(async (answer) => {
          const text = await answer.body.text();
          const at = performance.now();
          statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
          if (answer.statusCode === 202) accepted.set(JSON.parse(text).id, { due, accepted: at, measured });
        })
        .catch(() => {
          statuses.error = (statuses.error ?? 0) + 1;
        }),
    );
  }
  const sendingEnded = performance.now();
  await Promise.all(sends);
  await pool.close();
  const expected = accepted.size * endpoints;
  const drainUntil = performance.now() + options.drainSeconds * 1000;
  while (deliveriesArrived(accepted, receiver.fanOutArrivals, endpoints) < expected && performance.now() < drainUntil) await sleep(100);
  const drainSeconds = (performance.now() - sendingEnded) / 1000;
  const steadyFrom = start + options.warmupSeconds * 1000;
  const result = fanOutLedger({ accepted, arrivals: receiver.fanOutArrivals, endpoints, window: { from: steadyFrom, to: steadyFrom + options.seconds * 1000 } });
  return {
    endpoints,
    messages_offered_per_s: rate,
    deliveries_offered_per_s: rate * endpoints,
    phases_s: { warmup: options.warmupSeconds, steady: options.seconds, drain: +drainSeconds.toFixed(1) },
    statuses,
    ledger: { messages_sent: sends.length, messages_refused: sends.length - accepted.size, ...result.ledger },
    steady: result.steady,
  };
}
