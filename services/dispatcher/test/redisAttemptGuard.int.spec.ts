import { createClient } from 'redis';
import { RedisAttemptGuard } from '../src/adapters/redisAttemptGuard';

const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
const delivery = '22222222-2222-4222-8222-222222222222';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => redis.connect());
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(keys);
  await redis.quit();
});

describe('RedisAttemptGuard (real Redis)', () => {
  it('lets one caller claim an attempt; the others see it running, then done', async () => {
    // Given two dispatchers holding the same job
    const guard = new RedisAttemptGuard(redis, prefix, { leaseMs: 5_000, doneTtlMs: 60_000 });
    const claims = await Promise.all([guard.claim(delivery, 2), guard.claim(delivery, 2)]);
    // Then exactly one may attempt it and the other waits
    expect(claims.map((claim) => claim.kind).sort()).toEqual(['claimed', 'running']);
    const running = claims.find((claim) => claim.kind === 'running') as { remainingMs: number };
    expect(running.remainingMs).toBeGreaterThan(4_000);
    expect(running.remainingMs).toBeLessThanOrEqual(5_000);
    // When the holder recorded its outcome, every later copy sees it done, for the done window
    await guard.finish(delivery, 2);
    expect(await guard.claim(delivery, 2)).toEqual({ kind: 'done' });
    expect(await redis.pTTL(`${prefix}attempt:${delivery}:2`)).toBeGreaterThan(59_000);
    // and another attempt number of the same delivery is its own slot
    expect((await guard.claim(delivery, 3)).kind).toBe('claimed');
  });

  it('lets a lease run out when its holder stops renewing (a crash), and keeps it while renewed', async () => {
    const guard = new RedisAttemptGuard(redis, prefix, { leaseMs: 300, doneTtlMs: 60_000 });
    const crashed = await guard.claim(delivery, 4);
    expect(crashed.kind).toBe('claimed');
    await sleep(400);
    const next = await guard.claim(delivery, 4);
    expect(next.kind).toBe('claimed');

    // Renewed every 100 ms, the new holder keeps its claim well past one lease
    const token = (next as { token: string }).token;
    for (let n = 0; n < 6; n += 1) {
      await sleep(100);
      expect(await guard.renew(delivery, 4, token)).toBe(true);
    }
    expect((await guard.claim(delivery, 4)).kind).toBe('running');
    // A stale holder can neither renew nor release someone else's claim
    expect(await guard.renew(delivery, 4, (crashed as { token: string }).token)).toBe(false);
    await guard.release(delivery, 4, (crashed as { token: string }).token);
    expect((await guard.claim(delivery, 4)).kind).toBe('running');
    // Its own holder releases it (stopping before an outcome): the next copy may go at once
    await guard.release(delivery, 4, token);
    expect((await guard.claim(delivery, 4)).kind).toBe('claimed');
  });
});
