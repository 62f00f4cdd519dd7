import { decideShare, endpointOf, EndpointShares, type ShareTimers } from '../src/delivery/endpointShare';
import { decideDeferral, deferralDelay, ENDPOINT_BUSY } from '../src/delivery/deferral';
import { assertValidEvent } from '@hookpost/contracts';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

/** Timers a test fires by hand. */
function manualTimers(): ShareTimers & { fire: () => void; pending: () => number } {
  let next = 0;
  const due = new Map<number, () => void>();
  return {
    setTimeout: (run) => {
      next += 1;
      due.set(next, run);
      return next as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimeout: (timer) => void due.delete(timer as unknown as number),
    fire: () => {
      const runs = [...due.values()];
      due.clear();
      for (const run of runs) run();
    },
    pending: () => due.size,
  };
}

const limits = { perEndpoint: 2, waitingPerEndpoint: 1, waitMs: 100 };

describe('which endpoint an attempt counts against', () => {
  it('is the target URL origin: scheme, host and port', () => {
    expect(endpointOf('https://hooks.example.com/a?token=x')).toBe('https://hooks.example.com');
    expect(endpointOf('https://hooks.example.com:443/b')).toBe('https://hooks.example.com');
    expect(endpointOf('http://127.0.0.1:9001/hook')).not.toBe(endpointOf('http://127.0.0.1:9002/hook'));
    expect(endpointOf('http://HOOKS.example.com/')).toBe('http://hooks.example.com');
  });

  it('is none for a target that is never connected to', () => {
    expect(endpointOf('not a url')).toBeUndefined();
    expect(endpointOf('ftp://example.com/')).toBeUndefined();
  });
});

describe('deciding an attempt against its endpoint share', () => {
  it.each([
    [{ inFlight: 0, waiting: 0 }, 'go'],
    [{ inFlight: 1, waiting: 0 }, 'go'],
    [{ inFlight: 2, waiting: 0 }, 'wait'],
    // a free slot is handed to those waiting, never taken past them
    [{ inFlight: 1, waiting: 1 }, 'defer'],
    [{ inFlight: 2, waiting: 1 }, 'defer'],
  ] as const)('with %o in flight and waiting: %s', (endpoint, kind) => {
    expect(decideShare(endpoint, limits).kind).toBe(kind);
  });

  it('defers at once when waiting is switched off', () => {
    expect(decideShare({ inFlight: 2, waiting: 0 }, { ...limits, waitMs: 0 }).kind).toBe('defer');
    expect(decideShare({ inFlight: 2, waiting: 0 }, { ...limits, waitingPerEndpoint: 0 }).kind).toBe('defer');
  });
});

describe('how long a deferred attempt stays away', () => {
  it('starts at half a second and doubles per deferral up to 30 s, ±20 %', () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => deferralDelay(n, middle))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(deferralDelay(0, () => 0)).toBe(400);
    expect(deferralDelay(0, () => 0.999999)).toBe(600);
    expect(deferralDelay(9, () => 0.999999)).toBe(36_000);
  });
});

describe('EndpointShares', () => {
  it('lets perEndpoint attempts in, queues the next ones in order, defers the rest, and keeps endpoints apart', async () => {
    // Given an endpoint with two slots and room for one waiter
    const timers = manualTimers();
    const shares = new EndpointShares(limits, timers);
    const a = 'http://127.0.0.1:1';
    const first = await shares.take(a);
    const second = await shares.take(a);
    expect(first && second).toBeDefined();
    // When a third and a fourth attempt arrive
    let third: unknown = 'still waiting';
    const waiting = shares.take(a).then((slot) => (third = slot));
    expect(await shares.take(a)).toBeUndefined();
    await Promise.resolve();
    expect(third).toBe('still waiting');
    // Then another endpoint is not held up
    const b = await shares.take('http://127.0.0.1:2');
    expect(b).toBeDefined();
    expect(shares.usage(a)).toEqual({ inFlight: 2, waiting: 1 });
    // and a released slot goes to the waiter, not to a newcomer
    first!.release();
    await waiting;
    expect(third).toEqual(expect.objectContaining({ release: expect.any(Function) }));
    expect(shares.usage(a)).toEqual({ inFlight: 2, waiting: 0 });
    expect(timers.pending()).toBe(0);
  });

  it('defers a waiter whose wait runs out, and forgets an endpoint once nothing is in flight', async () => {
    const timers = manualTimers();
    const shares = new EndpointShares(limits, timers);
    const a = 'https://tarpit.example';
    const slots = [await shares.take(a), await shares.take(a)];
    const waiter = shares.take(a);
    timers.fire();
    expect(await waiter).toBeUndefined();
    expect(shares.usage(a)).toEqual({ inFlight: 2, waiting: 0 });
    // releasing a slot twice frees one slot only
    slots[0]!.release();
    slots[0]!.release();
    expect(shares.usage(a)).toEqual({ inFlight: 1, waiting: 0 });
    slots[1]!.release();
    expect(shares.usage(a)).toEqual({ inFlight: 0, waiting: 0 });
    expect((shares as unknown as { endpoints: Map<string, unknown> }).endpoints.size).toBe(0);
  });

  it('waits for real time when given no timers', async () => {
    const shares = new EndpointShares({ perEndpoint: 1, waitingPerEndpoint: 1, waitMs: 30 });
    const held = await shares.take('http://x');
    const started = Date.now();
    expect(await shares.take('http://x')).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    held!.release();
  });
});

describe('deferring an attempt', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const deps = { now: () => now, newId: () => '00000000-0000-4000-8000-000000000009', random: () => 0.5 };
  const job: DeliveryJob = {
    delivery_id: '22222222-2222-4222-8222-222222222222',
    subscription_id: '11111111-1111-4111-8111-111111111111',
    event_type: 'invoice.paid',
    payload: { n: 1 },
    received_at: '2025-12-31T23:59:00.000Z',
    attempt_number: 3,
    last_status_code: 503,
    last_error: 'HTTP 503',
  };

  it('keeps the attempt number, counts the deferral, and records when the attempt comes back, with the last outcome', () => {
    // Given a third attempt deferred once already
    const deferral = decideDeferral({ ...job, deferrals: 1 }, deps);
    // Then it is scheduled as the same attempt, deferred twice, a second from now
    expect(deferral.job).toEqual({ ...job, deferrals: 2 });
    expect(deferral.delayMs).toBe(1_000);
    // and recorded as attempt 3 put off (two attempts made), due then
    expect(deferral.events).toEqual([
      {
        id: '00000000-0000-4000-8000-000000000009',
        type: 'DeliveryDeferred',
        schema_version: 1,
        occurred_at: now.toISOString(),
        data: {
          delivery_id: job.delivery_id,
          subscription_id: job.subscription_id,
          event_type: 'invoice.paid',
          received_at: job.received_at,
          attempt_count: 2,
          last_status_code: 503,
          last_error: 'HTTP 503',
          attempt_number: 3,
          next_attempt_at: '2026-01-01T00:00:01.000Z',
          reason: ENDPOINT_BUSY,
        },
      },
    ]);
  });

  it('makes an event the log accepts, for a first attempt too', () => {
    const first = decideDeferral({ ...job, attempt_number: 1, last_status_code: null, last_error: null }, deps);
    expect(() => assertValidEvent(first.events[0])).not.toThrow();
    expect(first.events[0].data).toMatchObject({ attempt_count: 0, attempt_number: 1, next_attempt_at: '2026-01-01T00:00:00.500Z' });
    expect(first.job.deferrals).toBe(1);
  });
});
