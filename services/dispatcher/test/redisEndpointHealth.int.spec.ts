import { createClient } from 'redis';
import { RedisEndpointHealth } from '../src/adapters/redisEndpointHealth';

const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let n = 0;
const endpointId = () => `0190a000-0000-7000-8000-${String(++n).padStart(12, '0')}`;

beforeAll(() => redis.connect());
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(keys);
  await redis.quit();
});

describe('RedisEndpointHealth (real Redis)', () => {
  it('counts failed attempts from the first failure, shared by every dispatcher, until a success clears it', async () => {
    // Given two dispatchers' views of one store and an endpoint with no record
    const one = new RedisEndpointHealth(redis, prefix, 60_000);
    const other = new RedisEndpointHealth(redis, prefix, 60_000);
    const id = endpointId();
    expect(await one.read(id, 3)).toBeUndefined();
    // When both count failures, at different times
    expect(await one.failed(id, 3, 1_000)).toEqual({ failures: 1, failingSince: 1_000 });
    const counted = await Promise.all([one.failed(id, 3, 2_000), other.failed(id, 3, 2_500)]);
    // Then every failure counts once and the record keeps the first failure's time
    expect(counted.map((health) => health.failures).sort()).toEqual([2, 3]);
    expect(await other.read(id, 3)).toEqual({ failures: 3, failingSince: 1_000 });
    // When one attempt succeeds, the record is gone for both
    await other.succeeded(id);
    expect(await one.read(id, 3)).toBeUndefined();
    expect(await one.failed(id, 3, 9_000)).toEqual({ failures: 1, failingSince: 9_000 });
  });

  it('starts afresh when the endpoint changed (another version): a re-enabled endpoint is not disabled again at once', async () => {
    const store = new RedisEndpointHealth(redis, prefix, 60_000);
    const id = endpointId();
    await store.failed(id, 3, 1_000);
    await store.failed(id, 3, 2_000);
    // A record of version 3 is no record for version 5
    expect(await store.read(id, 5)).toBeUndefined();
    // and the first failure at version 5 starts a new record
    expect(await store.failed(id, 5, 7_000)).toEqual({ failures: 1, failingSince: 7_000 });
    expect(await store.read(id, 5)).toEqual({ failures: 1, failingSince: 7_000 });
  });

  it('lets one caller take the probe slot per interval; the others learn how long until it frees', async () => {
    const store = new RedisEndpointHealth(redis, prefix, 60_000);
    const id = endpointId();
    const takes = await Promise.all([store.takeProbe(id, 400), store.takeProbe(id, 400), store.takeProbe(id, 400)]);
    expect(takes.filter((left) => left === 0)).toHaveLength(1);
    for (const left of takes.filter((left) => left !== 0)) {
      expect(left).toBeGreaterThan(200);
      expect(left).toBeLessThanOrEqual(400);
    }
    await sleep(450);
    expect(await store.takeProbe(id, 400)).toBe(0);
    // A success frees it at once (the circuit is closed: the next probe, if any, may go at once)
    await store.succeeded(id);
    expect(await store.takeProbe(id, 400)).toBe(0);
  });

  it('forgets an endpoint that has not failed for the record TTL', async () => {
    const store = new RedisEndpointHealth(redis, prefix, 300);
    const id = endpointId();
    await store.failed(id, 1, 1_000);
    await sleep(200);
    // (each failure extends it)
    await store.failed(id, 1, 1_200);
    await sleep(200);
    expect(await store.read(id, 1)).toEqual({ failures: 2, failingSince: 1_000 });
    await sleep(250);
    expect(await store.read(id, 1)).toBeUndefined();
  });
});
