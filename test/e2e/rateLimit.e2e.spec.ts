import { fromExternalId } from '@hookpost/contracts';
import { apiClient } from '../support/api';
import { spawnService, type ServiceProcess } from '../support/processes';
import { Receiver } from '../support/receiver';
import { mostWithin } from '../support/rateWindow';
import { withReadModel } from '../support/readModel';
import { removeRunResources, runEnv, TEST_API_KEY } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(150_000);

/**
 * Endpoint rate limits through the public API (Svix's throttleRate), with two dispatcher processes sharing
 * the work. Messages of one application go to one Kafka partition, so one dispatcher makes the first attempts;
 * deferred attempts come back through the RabbitMQ ready queue, which both consume, so both send to the limited
 * endpoint and the limit must hold across them. Measured at the receivers, in this process: every service runs
 * as its own process, so that their work does not hold up this event loop and skew the times of arrival
 * (with the stack in-process, pauses of 300 ms were seen here).
 */
const run = runEnv();
const services: ServiceProcess[] = [];
const dispatchers: ServiceProcess[] = [];
const receivers: Receiver[] = [];
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  const projector = await spawnService('projector', run.env);
  services.push(projector);
  const withProjector = { ...run.env, PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
  for (let n = 0; n < 2; n += 1) dispatchers.push(await spawnService('dispatcher', withProjector));
  services.push(...dispatchers);
  const gateway = await spawnService('gateway', withProjector);
  services.push(gateway);
  api = apiClient(`http://127.0.0.1:${gateway.port}`, { authorization: `Bearer ${TEST_API_KEY}` });
});

afterAll(async () => {
  for (const service of services.reverse()) await service.stop();
  for (const receiver of receivers) await receiver.stop();
  await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
});

async function receiver(): Promise<Receiver> {
  const started = await Receiver.start();
  receivers.push(started);
  return started;
}

async function application(body: Record<string, unknown>): Promise<string> {
  const created = await api('POST', '/api/v1/app', body);
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function endpoint(appId: string, body: Record<string, unknown>): Promise<string> {
  const created = await api('POST', `/api/v1/app/${appId}/endpoint`, body);
  expect(created.status).toBe(201);
  return created.body.id as string;
}

/** Sends `count` messages at once; the accepted messages' ids and when each was accepted. */
async function burst(appId: string, count: number): Promise<Map<string, number>> {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, n) => api('POST', `/api/v1/app/${appId}/msg`, { eventType: 'rate.limited', payload: { n } }).then((answer) => ({ answer, at: Date.now() }))),
  );
  for (const { answer } of answers) expect(answer.status).toBe(202);
  return new Map(answers.map(({ answer, at }) => [answer.body.id as string, at]));
}

/** webhook-id → how many requests with it the receiver read. */
function countsById(at: Receiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of at.requests) counts.set(String(request.headers['webhook-id']), (counts.get(String(request.headers['webhook-id'])) ?? 0) + 1);
  return counts;
}

/** Each dispatcher's count of rate-limited attempts, by outcome. */
async function pacedCounts(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^hookpost_rate_limited_attempts_total\{[^}]*outcome="([^"]+)"[^}]*\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** The read model's view of every delivery to `endpointIds` (status and attempts made), once there are `count`. */
function deliveriesTo(endpointIds: string[], count: number) {
  const ids = endpointIds.map((id) => fromExternalId('ep', id)!);
  return eventually(
    async () => {
      const rows = await withReadModel(run.schema, async (client) =>
        (await client.query<{ status: string; attempt_count: number }>('SELECT status, attempt_count FROM webhook_deliveries WHERE subscription_id = ANY($1::uuid[])', [ids])).rows,
      );
      return rows.length === count && rows.every((row) => row.status !== 'pending') ? rows : undefined;
    },
    { what: `${count} deliveries settled in the read model`, timeoutMs: 30_000, intervalMs: 250 },
  );
}

describe('per-endpoint rate limits, with two dispatchers', () => {
  it('delivers a burst to an endpoint limited to 5/s at most 6 in any second, each message once, without slowing its unlimited sibling', async () => {
    // Given an application with an endpoint limited to 5 requests a second and one without a limit
    const LIMIT = 5;
    const MESSAGES = 60;
    const limited = await receiver();
    const unlimited = await receiver();
    const appId = await application({ name: 'rate-limited' });
    const limitedId = await endpoint(appId, { url: limited.url, throttleRate: LIMIT });
    const unlimitedId = await endpoint(appId, { url: unlimited.url });
    expect((await api('GET', `/api/v1/app/${appId}/endpoint/${limitedId}`)).body).toMatchObject({ throttleRate: LIMIT, rateLimit: LIMIT });

    // When a burst of 60 messages is sent
    const accepted = await burst(appId, MESSAGES);
    const lastAccepted = Math.max(...accepted.values());

    // Then the unlimited endpoint has them all within moments
    await eventually(async () => (unlimited.requests.length >= MESSAGES ? true : undefined), { what: 'every message at the unlimited endpoint', timeoutMs: 15_000 });
    const unlimitedDone = Math.max(...unlimited.requests.map((request) => request.at)) - lastAccepted;
    // and the limited one, at its pace (59 intervals of 200 ms: about 12 s)
    await eventually(async () => (limited.requests.length >= MESSAGES ? true : undefined), { what: 'every message at the limited endpoint', timeoutMs: 60_000, intervalMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const arrivals = limited.requests.map((request) => request.at);
    const span = Math.max(...arrivals) - Math.min(...arrivals);
    const paced = await Promise.all(dispatchers.map((dispatcher) => pacedCounts(dispatcher.port)));
    console.log(
      `rate limit ${LIMIT}/s: ${MESSAGES} messages over ${span} ms at the limited endpoint, at most ${mostWithin(arrivals)} in one second; ` +
        `unlimited endpoint done ${unlimitedDone} ms after the last message was accepted; rate-limited attempts by dispatcher: ${JSON.stringify(paced)}`,
    );

    // Never more than the limit + 1 in any one second, and not much slower than the limit either
    expect(mostWithin(arrivals)).toBeLessThanOrEqual(LIMIT + 1);
    expect(span).toBeGreaterThanOrEqual(((MESSAGES - 1) / LIMIT) * 1_000 - 1_000);
    expect(span).toBeLessThan(((MESSAGES - 1) / LIMIT) * 1_000 + 4_000);
    // every message reached each endpoint exactly once
    const ids = [...accepted.keys()].sort();
    for (const at of [limited, unlimited]) {
      const counts = countsById(at);
      expect([...counts.keys()].sort()).toEqual(ids);
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
    }
    // the unlimited endpoint was not held up by its limited sibling
    expect(unlimitedDone).toBeLessThan(3_000);
    // both dispatchers sent to the limited endpoint (so the limit held across them), and attempts were deferred
    expect(paced.every((counts) => (counts['at once'] ?? 0) + (counts.waited ?? 0) > 0)).toBe(true);
    expect(paced.reduce((sum, counts) => sum + (counts.deferred ?? 0), 0)).toBeGreaterThan(0);
    // and the ledger is exact: every delivery succeeded with one attempt made (waits count no attempt)
    const deliveries = await deliveriesTo([limitedId, unlimitedId], 2 * MESSAGES);
    expect(deliveries).toHaveLength(2 * MESSAGES);
    expect(deliveries.every((delivery) => delivery.status === 'succeeded' && delivery.attempt_count === 1)).toBe(true);
  });

  it("holds an endpoint without a limit of its own to its application's default", async () => {
    // Given an application whose default is 4/s and an endpoint that sets none
    const LIMIT = 4;
    const MESSAGES = 16;
    const limited = await receiver();
    const appId = await application({ name: 'default-limited', throttleRate: LIMIT });
    const endpointId = await endpoint(appId, { url: limited.url });
    // When a burst is sent
    const accepted = await burst(appId, MESSAGES);
    // Then it arrives at the application's pace, each message once
    await eventually(async () => (limited.requests.length >= MESSAGES ? true : undefined), { what: 'every message', timeoutMs: 30_000, intervalMs: 200 });
    const arrivals = limited.requests.map((request) => request.at);
    expect(mostWithin(arrivals)).toBeLessThanOrEqual(LIMIT + 1);
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(((MESSAGES - 1) / LIMIT) * 1_000 - 1_000);
    expect([...countsById(limited).keys()].sort()).toEqual([...accepted.keys()].sort());
    const deliveries = await deliveriesTo([endpointId], MESSAGES);
    expect(deliveries.map((delivery) => [delivery.status, delivery.attempt_count])).toEqual(Array.from({ length: MESSAGES }, () => ['succeeded', 1]));
  });
});
