import { classifyAttempt } from '../src/delivery/classifyResponse';
import { maxAttemptsOf, nextRetryDelay, parseRetryAfter, standardWebhooksSchedule } from '../src/delivery/retryPolicy';
import { retryTiers, tierFor } from '../src/adapters/rabbitRetryQueue';

const policy = { schedule: standardWebhooksSchedule, jitter: 0.1, retryAfterMaxMs: 3_600_000 };

describe('nextRetryDelay', () => {
  it('follows the Standard Webhooks schedule without jitter at the midpoint', () => {
    const midpoint = () => 0.5;
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => nextRetryDelay(policy, attempt, 10, midpoint));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000]);
  });

  it('stops after the last attempt', () => {
    expect(nextRetryDelay(policy, 10, 10)).toBeUndefined();
    expect(nextRetryDelay(policy, 3, 3)).toBeUndefined();
  });

  it('keeps jitter within ± the configured fraction', () => {
    expect(nextRetryDelay(policy, 1, 10, () => 0)).toBe(4_500);
    expect(nextRetryDelay(policy, 1, 10, () => 0.999999)).toBe(5_500);
  });

  it('repeats the last delay when a subscription allows more attempts than the schedule lists', () => {
    expect(nextRetryDelay(policy, 12, 15, () => 0.5)).toBe(86_400_000);
    expect(maxAttemptsOf(policy, null)).toBe(10);
    expect(maxAttemptsOf(policy, 3)).toBe(3);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('classifyAttempt', () => {
  it.each([200, 201, 204, 299])('%i succeeds', (statusCode) => {
    expect(classifyAttempt({ kind: 'response', statusCode })).toEqual({ kind: 'succeeded' });
  });
  it('410 is gone', () => {
    expect(classifyAttempt({ kind: 'response', statusCode: 410 })).toEqual({ kind: 'gone' });
  });
  it.each([429, 502, 503, 504])('%i retries honouring Retry-After', (statusCode) => {
    expect(classifyAttempt({ kind: 'response', statusCode, retryAfter: '3' })).toEqual({ kind: 'retry', retryAfter: '3' });
  });
  it.each([301, 302, 400, 401, 404, 500])('%i retries without Retry-After', (statusCode) => {
    expect(classifyAttempt({ kind: 'response', statusCode, retryAfter: '3' })).toEqual({ kind: 'retry' });
  });
  it('network errors retry; a blocked target fails for good', () => {
    expect(classifyAttempt({ kind: 'network-error', error: 'connection reset' })).toEqual({ kind: 'retry' });
    expect(classifyAttempt({ kind: 'blocked', error: 'private address' })).toEqual({ kind: 'fail-permanently', reason: 'private address' });
  });
});

describe('retry tiers', () => {
  it('holds every schedule delay plus a 50 ms ladder up to the longest delay', () => {
    const tiers = retryTiers([0, 200, 1_000], 1_000);
    expect(tiers).toEqual([50, 100, 200, 400, 800, 1_000]);
  });
  it('picks the largest tier that fits what remains, none when due', () => {
    const tiers = retryTiers([0, 200, 1_000], 1_000);
    expect(tierFor(tiers, 1_000)).toBe(1_000);
    expect(tierFor(tiers, 950)).toBe(800);
    expect(tierFor(tiers, 120)).toBe(100);
    expect(tierFor(tiers, 49)).toBeUndefined();
    expect(tierFor(tiers, -10)).toBeUndefined();
  });
});
