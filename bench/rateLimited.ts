/**
 * The rate-limit load: one application of the Svix-compatible API with an endpoint limited to `perSecond`
 * (throttleRate) and one without a limit, both at the bench receiver, and messages sent to it on a fixed
 * schedule (open model) faster than the limit, so that a backlog builds at the limited endpoint and drains at
 * its pace through the dispatcher's turns and deferrals.
 */
import { Pool } from 'undici';
import { FAN_OUT_PATH_PREFIX } from './fanOutLedger';
import type { Receiver } from './load';
import { LIMITED, rateLimitLedger, UNLIMITED } from './rateLimitLedger';
import { api, authorized, BASE, sleep } from './stack';

/** Creates the application and its two endpoints (`/ep/0` limited, `/ep/1` not); `remove` deletes it. */
export async function createRateLimitedApplication(receiver: Receiver, perSecond: number): Promise<{ appId: string; remove: () => Promise<void> }> {
  const app = await api('POST', '/api/v1/app', { name: `bench-ratelimit-${perSecond}` });
  if (app.status !== 201) throw new Error(`could not create an application: ${app.status} ${JSON.stringify(app.body)}`);
  const appId = app.body.id as string;
  for (const [index, throttleRate] of [[LIMITED, perSecond], [UNLIMITED, null]] as const) {
    const created = await api('POST', `/api/v1/app/${appId}/endpoint`, { url: receiver.url(`${FAN_OUT_PATH_PREFIX}${index}`), throttleRate });
    if (created.status !== 201) throw new Error(`could not create endpoint ${index}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  return { appId, remove: async () => void (await api('DELETE', `/api/v1/app/${appId}`)) };
}

/**
 * `rate` messages a second for `seconds` on a fixed schedule, then a drain that waits until every accepted
 * message has reached both endpoints: at most the backlog's time at the limit plus `drainSlackSeconds`.
 */
export async function rateLimitedLoad(options: { receiver: Receiver; appId: string; perSecond: number; rate: number; seconds: number; drainSlackSeconds: number }) {
  const { receiver, appId, rate, perSecond } = options;
  const pool = new Pool(BASE, { connections: 64 });
  const accepted = new Map<string, { accepted: number }>();
  const statuses: Record<string, number> = {};
  const sends: Promise<void>[] = [];
  const total = Math.round(rate * options.seconds);
  const start = performance.now();
  for (let n = 0; n < total; n += 1) {
    const wait = start + (n * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(
      pool
        .request({ method: 'POST', path: `/api/v1/app/${appId}/msg?with_content=false`, headers: authorized, body: JSON.stringify({ eventType: 'bench.ratelimit', payload: { n } }) })
        .then(async (answer) => {
          const text = await answer.body.text();
          const at = performance.now();
          statuses[answer.statusCode] = (statuses[answer.statusCode] ?? 0) + 1;
          if (answer.statusCode === 202) accepted.set(JSON.parse(text).id, { accepted: at });
        })
        .catch(() => {
          statuses.error = (statuses.error ?? 0) + 1;
        }),
    );
  }
  const sendingEnded = performance.now();
  await Promise.all(sends);
  await pool.close();
  const arrived = () => [...accepted.keys()].filter((id) => receiver.fanOutArrivals.get(id)?.has(LIMITED) && receiver.fanOutArrivals.get(id)?.has(UNLIMITED)).length;
  const drainUntil = performance.now() + ((accepted.size / perSecond) + options.drainSlackSeconds) * 1000;
  while (arrived() < accepted.size && performance.now() < drainUntil) await sleep(200);
  // (a moment more, so that a duplicate coming late is counted)
  await sleep(1_000);
  return {
    offered_per_s: rate,
    phases_s: { sending: options.seconds, drain: +((performance.now() - sendingEnded) / 1000).toFixed(1) },
    statuses,
    ...rateLimitLedger({ accepted, arrivals: receiver.fanOutArrivals, perSecond }),
  };
}
