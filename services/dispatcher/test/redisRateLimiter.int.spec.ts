import { createClient } from 'redis';
import { RedisRateLimiter } from '../src/adapters/redisRateLimiter';
import { decideRatePacing, type RateLimitAnswer } from '../src/delivery/rateLimit';

// Two clients, as two dispatcher processes have: every limiter below shares its buckets with the other's.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients = [createClient({ url }), createClient({ url })];
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
const limiters = clients.map((client) => new RedisRateLimiter(client as never, prefix));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let endpoints = 0;
const newEndpoint = () => `44444444-4444-4444-8444-${String(++endpoints).padStart(12, '0')}`;

beforeAll(() => Promise.all(clients.map((client) => client.connect())));
afterAll(async () => {
  const keys = await clients[0]!.keys(`${prefix}*`);
  if (keys.length > 0) await clients[0]!.del(keys);
  await Promise.all(clients.map((client) => client.quit()));
});

/** Most timestamps inside any window of `ms` (sliding, starting at each timestamp). */
function mostWithin(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[j]! < sorted[i]! - ms + 1) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('RedisRateLimiter (real Redis, two clients sharing a bucket)', () => {
  it('hands out request slots one interval apart across both, a window ahead at most, and turns one interval apart after them', async () => {
    // Given an endpoint limited to 20/s (a slot every 50 ms) and a window of 120 ms
    const endpoint = newEndpoint();
    const request = { perSecond: 20, windowMs: 120, queued: false };
    // When 20 attempts ask at once, half through each client
    const asked = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) => limiters[n % 2]!.take(endpoint, request).then((answer) => ({ answer, at: performance.now() }))),
    );
    // (when each slot or turn is, on this process's clock: the answer's time from now, from when it came)
    const when = (kind: RateLimitAnswer['kind']) =>
      answers
        .filter(({ answer }) => answer.kind === kind)
        .map(({ answer, at }) => at - asked + (answer.kind === 'reserved' ? answer.waitMs : answer.turnInMs))
        .sort((a, b) => a - b);
    // Then three get a slot (now, +50, +100 ms: the next, +150, is past the window) and the rest a turn
    const slots = when('reserved');
    expect(slots).toHaveLength(3);
    expect(slots[0]).toBeLessThan(20);
    expect(slots[1]! - slots[0]!).toBeGreaterThan(47);
    expect(slots[1]! - slots[0]!).toBeLessThan(53);
    expect(slots[2]! - slots[1]!).toBeGreaterThan(47);
    expect(slots[2]! - slots[1]!).toBeLessThan(53);
    // and the turns are one interval apart, the first half a window before the next free slot (+150 ms)
    const turns = when('queued');
    expect(turns).toHaveLength(17);
    expect(turns[0]! - slots[0]!).toBeGreaterThan(150 - 60 - 5);
    expect(turns[0]! - slots[0]!).toBeLessThan(150 - 60 + 5);
    for (let n = 1; n < turns.length; n += 1) {
      expect(turns[n]! - turns[n - 1]!).toBeGreaterThan(47);
      expect(turns[n]! - turns[n - 1]!).toBeLessThan(53);
    }
    // and the bucket's key carries the prefix and runs out an interval after the turn after the last one
    const ttl = await clients[0]!.pTTL(`${prefix}ratelimit:${endpoint}`);
    const lastTurnIn = turns.at(-1)! - (performance.now() - asked);
    expect(ttl).toBeGreaterThan(lastTurnIn + 2 * 50 - 20);
    expect(ttl).toBeLessThan(lastTurnIn + 2 * 50 + 20);
  });

  it('keeps newcomers behind the turns handed out, and lets an attempt at its turn take its slot', async () => {
    // Given an endpoint at 10/s whose next slots are taken and a turn handed out
    const endpoint = newEndpoint();
    const request = { perSecond: 10, windowMs: 150, queued: false };
    expect((await limiters[0]!.take(endpoint, request)).kind).toBe('reserved');
    expect((await limiters[1]!.take(endpoint, request)).kind).toBe('reserved');
    const queued = await limiters[0]!.take(endpoint, request);
    expect(queued.kind).toBe('queued');
    // When its turn comes
    await sleep((queued as { turnInMs: number }).turnInMs);
    // Then a newcomer is still queued behind it (a slot is free within its window, but the turn is not its own)
    expect((await limiters[1]!.take(endpoint, request)).kind).toBe('queued');
    // while the attempt holding the turn gets the slot, inside its window
    const atTurn = await limiters[0]!.take(endpoint, { ...request, queued: true });
    expect(atTurn.kind).toBe('reserved');
    expect((atTurn as { waitMs: number }).waitMs).toBeLessThanOrEqual(150);
  });

  it('forgets turns nobody came back for once a whole interval passed unused', async () => {
    // Given an endpoint at 10/s with turns handed out for 2 s ahead
    const endpoint = newEndpoint();
    const request = { perSecond: 10, windowMs: 150, queued: false };
    for (let n = 0; n < 20; n += 1) await limiters[n % 2]!.take(endpoint, request);
    // When none of those attempts come back (their deliveries were cancelled) and the slots go unused
    await sleep(450);
    // Then a newcomer goes at once rather than wait behind turns that will not be used
    expect(await limiters[0]!.take(endpoint, request)).toEqual({ kind: 'reserved', waitMs: 0 });
  });

  it('paces a burst of attempts acting on its answers to the limit, each sent once, from both clients', async () => {
    // Given 30 attempts of an endpoint limited to 10/s, asking through either client, as the dispatchers do:
    // a slot within the window: wait, then send; a turn: come back then (jitter included), holding it
    const endpoint = newEndpoint();
    const perSecond = 10;
    const windowMs = 250;
    const sent: number[] = [];
    let deferrals = 0;
    const attempt = async (n: number, queued: boolean): Promise<void> => {
      const answer = await limiters[n % 2]!.take(endpoint, { perSecond, windowMs, queued });
      const pacing = decideRatePacing(answer, { perSecond, windowMs }, Math.random);
      if (pacing.kind === 'go') {
        await sleep(pacing.waitMs);
        sent.push(Date.now());
        return;
      }
      if (pacing.cause.kind !== 'rate limited') throw new Error('limiter unreachable');
      deferrals += 1;
      // (the retry queue brings a job back up to 50 ms early)
      await sleep(Math.max(0, pacing.cause.delayMs - Math.random() * 50));
      return attempt(n + 1, true);
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, (_, n) => attempt(n, false)));
    // Then every attempt was sent once, never more than the limit + 1 in any second
    expect(sent).toHaveLength(30);
    expect(mostWithin(sent, 1_000)).toBeLessThanOrEqual(perSecond + 1);
    // at the limit's pace (30 at 10/s: 2.9 s from the first to the last), with one deferral each at most for most
    expect(Date.now() - started).toBeLessThan(3_600);
    expect(deferrals).toBeLessThan(30 + 5);
  });

  it('rejects when Redis cannot be asked, so the dispatcher defers instead of sending unthrottled', async () => {
    const closed = createClient({ url });
    const limiter = new RedisRateLimiter(closed as never, prefix);
    await expect(limiter.take(newEndpoint(), { perSecond: 5, windowMs: 250, queued: false })).rejects.toThrow();
  });
});
