import { createClient } from 'redis';
import type { SubscriptionState } from '@hookpost/contracts';
import { RedisSubscriptionCache } from '../src/subscriptionDirectory';

const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const prefix = `int${Date.now().toString(36)}:`;

beforeAll(() => redis.connect());
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(keys);
  await redis.quit();
});

const state = (version: number, name: string): SubscriptionState => ({
  id: '11111111-1111-4111-8111-111111111111', version, name, description: null, target_url: 'https://example.com', is_active: true,
  event_types: null, secret: 'sealed:v1:k:x', max_attempts: null, timeout_ms: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});

describe('RedisSubscriptionCache (real Redis)', () => {
  it('keeps the newest version whichever writer comes last', async () => {
    const cache = new RedisSubscriptionCache(redis, prefix);
    expect(await cache.get(state(1, 'a').id)).toBeUndefined();
    await cache.put(state(2, 'new'));
    await cache.put(state(1, 'old'));
    expect(await cache.get(state(1, 'a').id)).toMatchObject({ version: 2, name: 'new' });
    await cache.put({ id: state(1, 'a').id, version: 3, deleted: true });
    await cache.put(state(2, 'new'));
    expect(await cache.get(state(1, 'a').id)).toEqual({ id: state(1, 'a').id, version: 3, deleted: true });
  });

  it('lets the log’s fold replace a same-version entry, never an older one over a newer', async () => {
    const cache = new RedisSubscriptionCache(redis, `${prefix}fold:`);
    await cache.put(state(5, 'writer'));
    await cache.put(state(5, 'fold'), true);
    expect(await cache.get(state(5, 'x').id)).toMatchObject({ version: 5, name: 'fold' });
    await cache.put(state(4, 'stale fold'), true);
    expect(await cache.get(state(5, 'x').id)).toMatchObject({ version: 5, name: 'fold' });
  });

  it('drops an entry that does not read back as a subscription, and expires entries', async () => {
    const cache = new RedisSubscriptionCache(redis, `${prefix}bad:`, 150);
    const key = cache.key(state(1, 'a').id);
    await redis.set(key, JSON.stringify({ ...state(9, 'x'), timeout_ms: 'fast' }));
    expect(await cache.get(state(1, 'a').id)).toBeUndefined();
    expect(await redis.exists(key)).toBe(0);
    await redis.set(key, 'not json');
    expect(await cache.get(state(1, 'a').id)).toBeUndefined();

    await cache.put(state(1, 'a'));
    expect(await cache.get(state(1, 'a').id)).toMatchObject({ version: 1 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await cache.get(state(1, 'a').id)).toBeUndefined();
  });
});
