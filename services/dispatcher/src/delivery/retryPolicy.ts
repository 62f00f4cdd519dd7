/**
 * Retry policy as data. The schedule lists the delay before each attempt (the first is normally 0: the first
 * attempt is immediate), so `schedule.length` is the default number of attempts.
 */
export type RetryPolicy = Readonly<{
  schedule: readonly number[];
  /** ± fraction applied to each delay, e.g. 0.1 for ±10 %. */
  jitter: number;
  /** Upper bound for a receiver's Retry-After. */
  retryAfterMaxMs: number;
}>;

/** Standard Webhooks' schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const standardWebhooksSchedule: readonly number[] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000];

export function maxAttemptsOf(policy: RetryPolicy, override: number | null | undefined): number {
  return override ?? policy.schedule.length;
}

/**
 * The delay before the attempt after `attemptNumber`, or undefined when that was the last one.
 * `random` returns [0, 1) and is a parameter so tests can pin it.
 */
export function nextRetryDelay(
  policy: RetryPolicy,
  attemptNumber: number,
  maxAttempts: number,
  random: () => number = Math.random,
): number | undefined {
  if (attemptNumber >= maxAttempts) return undefined;
  const schedule = policy.schedule;
  const base = schedule[Math.min(attemptNumber, schedule.length - 1)] ?? 0;
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * factor));
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds from `now`; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its weekday and month; anything else (a negative number, a bare year) is unusable.
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now.getTime());
}
