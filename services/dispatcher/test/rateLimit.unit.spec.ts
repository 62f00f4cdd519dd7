import { assertValidEvent } from '@hookpost/contracts';
import { decideDeferral, rateLimited, RATE_LIMITER_UNREACHABLE, scheduledReason } from '../src/delivery/deferral';
import { decideAfterAttempt } from '../src/delivery/decideAfterAttempt';
import { readDeliveryJob, type DeliveryJob } from '../src/delivery/deliveryJob';
import { ApplicationRateLimits, decideRatePacing, effectiveRateLimit, rateWindowMs, SHORTEST_RATE_WINDOW_MS, tooLateForSlot } from '../src/delivery/rateLimit';

const now = new Date('2026-01-01T00:00:00.000Z');
const deps = { now: () => now, newId: () => '00000000-0000-4000-8000-000000000009', random: () => 0.5 };
const job: DeliveryJob = {
  delivery_id: '22222222-2222-4222-8222-222222222222',
  subscription_id: '11111111-1111-4111-8111-111111111111',
  message_id: '33333333-3333-4333-8333-333333333333',
  event_type: 'invoice.paid',
  payload: { n: 1 },
  received_at: '2025-12-31T23:59:00.000Z',
  attempt_number: 1,
  last_status_code: null,
  last_error: null,
};

describe('which rate limit an endpoint keeps to', () => {
  it.each([
    [5, 100, 5],
    [5, null, 5],
    [null, 100, 100],
    [undefined, 100, 100],
    [null, null, undefined],
    [undefined, undefined, undefined],
    // 0 is how a PATCH clears a limit: not a limit of nothing a second (which would hold deliveries for ever)
    [0, 7, 7],
    [0, 0, undefined],
  ] as const)('endpoint %p, application %p: %p', (endpoint, application, expected) => {
    expect(effectiveRateLimit(endpoint, application)).toBe(expected);
  });
});

describe('how far ahead an attempt may wait in-process for its request slot', () => {
  const settings = { waitMs: 250, waitingPerEndpoint: 64 };

  it('is the configured wait while the slots it covers stay within the waiting share', () => {
    // 5/s: a slot every 200 ms, so at most two attempts of the endpoint wait at once
    expect(rateWindowMs(5, settings)).toBe(250);
    expect(rateWindowMs(256, settings)).toBe(250);
  });

  it('narrows at high limits so that about waitingPerEndpoint attempts wait, but never below the shortest window', () => {
    expect(rateWindowMs(512, settings)).toBe(125);
    expect(rateWindowMs(1_000, settings)).toBe(SHORTEST_RATE_WINDOW_MS);
    expect(rateWindowMs(65_535, settings)).toBe(SHORTEST_RATE_WINDOW_MS);
  });
});

describe("what an attempt does with the rate limiter's answer", () => {
  const request = { perSecond: 5, windowMs: 200 };

  it('goes at once, or after the wait, when a request slot is its own', () => {
    expect(decideRatePacing({ kind: 'reserved', waitMs: 0 }, request, deps.random)).toEqual({ kind: 'go', waitMs: 0 });
    expect(decideRatePacing({ kind: 'reserved', waitMs: 140.5 }, request, deps.random)).toEqual({ kind: 'go', waitMs: 140.5 });
  });

  it('is deferred to its turn, plus a jitter of up to a quarter of the window', () => {
    // Given the turn 1.2 s from now
    const at = (random: number) => decideRatePacing({ kind: 'queued', turnInMs: 1_200 }, request, () => random);
    // Then it comes back then, up to 50 ms (a quarter of 200) later
    expect(at(0)).toEqual({ kind: 'defer', cause: { kind: 'rate limited', perSecond: 5, delayMs: 1_200 } });
    expect(at(0.5)).toEqual({ kind: 'defer', cause: { kind: 'rate limited', perSecond: 5, delayMs: 1_225 } });
    expect(at(0.999999)).toEqual({ kind: 'defer', cause: { kind: 'rate limited', perSecond: 5, delayMs: 1_249 } });
  });

  it('waits and asks again when the limiter could not be asked: never an unthrottled request', () => {
    expect(decideRatePacing({ kind: 'unreachable' }, request, deps.random)).toEqual({ kind: 'defer', cause: { kind: 'rate limiter unreachable' } });
  });
});

describe('a request slot reached late', () => {
  it('is used within half an interval of its time, and left for another past it', () => {
    // 5/s: a slot every 200 ms
    expect(tooLateForSlot(0, 5)).toBe(false);
    expect(tooLateForSlot(100, 5)).toBe(false);
    expect(tooLateForSlot(101, 5)).toBe(true);
  });

  it('allows up to 25 ms where half an interval is less than a pause of the event loop, never 0.8 of an interval or more', () => {
    // 20/s: a slot every 50 ms, half of it is 25 ms
    expect(tooLateForSlot(25, 20)).toBe(false);
    expect(tooLateForSlot(26, 20)).toBe(true);
    // 50/s: a slot every 20 ms; 25 ms late would let 52 requests into one second, before any network jitter
    expect(tooLateForSlot(16, 50)).toBe(false);
    expect(tooLateForSlot(16.5, 50)).toBe(true);
    // 1,000/s: a slot every millisecond
    expect(tooLateForSlot(0.8, 1_000)).toBe(false);
    expect(tooLateForSlot(1, 1_000)).toBe(true);
  });

  it('keeps every late request under one interval, the bound for limit + 1 in any second', () => {
    for (const perSecond of [1, 5, 20, 31, 50, 100, 333, 1_000, 65_535]) {
      const intervalMs = 1_000 / perSecond;
      expect(tooLateForSlot(intervalMs * 0.999, perSecond)).toBe(true);
    }
  });
});

describe('deferring an attempt for its rate limit', () => {
  it('keeps the attempt number, counts no attempt, gives the job its turn, and records when it comes back', () => {
    // Given a first attempt queued 1.3 s ahead by a limit of 5/s
    const deferral = decideDeferral(job, deps, { kind: 'rate limited', perSecond: 5, delayMs: 1_300 });
    // Then it comes back as the same attempt, holding its turn
    expect(deferral.delayMs).toBe(1_300);
    expect(deferral.job).toEqual({ ...job, deferrals: 1, rate_limit_queued: true });
    // and the log knows it waits, with no attempt made
    const [event] = deferral.events;
    expect(() => assertValidEvent(event)).not.toThrow();
    expect(event.data).toMatchObject({ attempt_number: 1, attempt_count: 0, next_attempt_at: '2026-01-01T00:00:01.300Z', reason: rateLimited(5) });
  });

  it('backs off, as for a busy endpoint, when the limiter is unreachable, and keeps a turn it had', () => {
    const first = decideDeferral(job, deps, { kind: 'rate limiter unreachable' });
    expect(first.delayMs).toBe(500);
    expect(first.events[0].data.reason).toBe(RATE_LIMITER_UNREACHABLE);
    expect(first.job).toEqual({ ...job, deferrals: 1 });
    const again = decideDeferral({ ...job, deferrals: 2, rate_limit_queued: true }, deps, { kind: 'rate limiter unreachable' });
    expect(again.delayMs).toBe(2_000);
    expect(again.job).toEqual({ ...job, deferrals: 3, rate_limit_queued: true });
  });

  it('does not hand the turn on to the next attempt', () => {
    const subscription = {
      id: job.subscription_id,
      version: 1,
      name: 's',
      target_url: 'http://127.0.0.1:1/hook',
      is_active: true,
      event_types: null,
      secret: 'sealed',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    const attempt = { result: { kind: 'response' as const, statusCode: 500 }, started_at: now, duration_ms: 3, response_headers: null, response_body: null };
    const decision = decideAfterAttempt({ ...job, deferrals: 4, rate_limit_queued: true }, subscription, attempt, { schedule: [0, 1_000], jitter: 0, retryAfterMaxMs: 1_000 }, deps);
    expect(decision.retry?.job).not.toHaveProperty('rate_limit_queued');
    expect(decision.retry?.job).not.toHaveProperty('deferrals');
  });
});

describe('a job read back from the retry queue', () => {
  const { attempt_number: _attempt, ...body } = job;
  const wire = Buffer.from(JSON.stringify(body));

  it("reads the rate-limit turn from its header, as the clients write a flag, and refuses anything else", () => {
    for (const header of [true, 1, '1', 'true']) expect(readDeliveryJob(wire, 1, 1, header)).toEqual({ ok: true, job: { ...job, deferrals: 1, rate_limit_queued: true } });
    expect(readDeliveryJob(wire, 1, 1, false)).toEqual({ ok: true, job: { ...job, deferrals: 1, rate_limit_queued: false } });
    expect(readDeliveryJob(wire, 1)).toEqual({ ok: true, job });
    expect(readDeliveryJob(wire, 1, 1, 'maybe')).toMatchObject({ ok: false, reason: expect.stringMatching(/rate_limit_queued/) });
  });
});

describe("an application's default limit, remembered", () => {
  /** A directory that counts its lookups and answers what `limits` says now (or fails). */
  function directory(limits: Record<string, number | null | Error>) {
    const asked: string[] = [];
    const lookUp = async (appId: string) => {
      asked.push(appId);
      const limit = limits[appId];
      if (limit instanceof Error) throw limit;
      return limit ?? null;
    };
    return { asked, lookUp };
  }

  it('waits for the first lookup only (attempts asking at once share it), then asks again once per ttl', async () => {
    // Given a directory and a clock
    let clock = 0;
    const limits: Record<string, number | null | Error> = { a: 10, b: null };
    const { asked, lookUp } = directory(limits);
    const remembered = new ApplicationRateLimits(lookUp, { ttlMs: 5_000, maxEntries: 100 }, () => clock);
    // When attempts of two applications ask, several at once
    expect(await Promise.all([remembered.of('a'), remembered.of('a'), remembered.of('b')])).toEqual([10, 10, null]);
    clock = 4_999;
    expect(await remembered.of('a')).toBe(10);
    // Then each application was looked up once while its answer was fresh
    expect(asked).toEqual(['a', 'b']);
    // When the answer is older than the ttl and the limit changed
    limits.a = 20;
    clock = 5_000;
    // Then the attempt goes by the known limit at once, while the new one is read
    expect(await remembered.of('a')).toBe(10);
    expect(asked).toEqual(['a', 'b', 'a']);
    await Promise.resolve();
    // and the next attempt has the new one, without another lookup
    expect(await remembered.of('a')).toBe(20);
    expect(asked).toEqual(['a', 'b', 'a']);
  });

  it('rejects a first lookup that fails and forgets it, so the next attempt asks again; a failed refresh keeps the known limit', async () => {
    let clock = 0;
    const limits: Record<string, number | null | Error> = { a: new Error('redis down') };
    const { asked, lookUp } = directory(limits);
    const remembered = new ApplicationRateLimits(lookUp, { ttlMs: 1_000, maxEntries: 100 }, () => clock);
    await expect(remembered.of('a')).rejects.toThrow('redis down');
    limits.a = 3;
    expect(await remembered.of('a')).toBe(3);
    // a refresh that fails leaves the known limit in use, and the next attempt tries again
    limits.a = new Error('redis down');
    clock = 1_000;
    expect(await remembered.of('a')).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    limits.a = 4;
    expect(await remembered.of('a')).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await remembered.of('a')).toBe(4);
    expect(asked).toEqual(['a', 'a', 'a', 'a']);
  });

  it('keeps at most maxEntries applications, dropping the oldest', async () => {
    const { asked, lookUp } = directory({ a: 1, b: 1, c: 1 });
    const remembered = new ApplicationRateLimits(lookUp, { ttlMs: 60_000, maxEntries: 2 }, () => 0);
    for (const appId of ['a', 'b', 'c', 'b', 'a']) await remembered.of(appId);
    expect(asked).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe("deferring a first attempt to its message's deliverAt", () => {
  it('records the time as given, keeps the deferral count, and waits a little past it (the retry queue may be early)', () => {
    const at = '2026-01-01T00:00:04.000Z';
    const deferral = decideDeferral({ ...job, deferrals: 2 }, deps, { kind: 'scheduled', at, delayMs: 3_999.6 });
    expect(deferral.job).toEqual({ ...job, deferrals: 2 });
    expect(deferral.delayMs).toBe(4_000 + 50);
    expect(deferral.events[0].data).toMatchObject({ attempt_number: 1, next_attempt_at: at, reason: scheduledReason(at) });
    assertValidEvent(deferral.events[0]);
  });
});
