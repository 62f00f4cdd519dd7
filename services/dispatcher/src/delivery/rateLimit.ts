import type { DeferralCause } from './deferral';

/**
 * Per-endpoint rate limits (Svix's `throttleRate`, formerly `rateLimit`: requests per second). One limit is
 * shared by every dispatcher process, so the state lives in Redis (redisRateLimiter.ts); what is decided here
 * is pure: which limit applies, how long an attempt may wait in-process for its request, and what to do with
 * the limiter's answer.
 *
 * The limiter spaces requests one interval (1/limit s) apart with no burst beyond one request, so any one
 * second holds at most limit + 1 requests. An attempt either gets a request slot within its in-process window
 * (it sleeps until then and goes: cheaper than a round trip through the retry queue), or a turn: it is
 * deferred (no attempt counted) and comes back at its turn, when a slot within its window will be free. Turns
 * are handed out one interval apart, so a backlog comes back at the rate it can be sent, not all at once.
 */

/** The limit an endpoint's deliveries keep to, in requests per second, or undefined for none. */
export function effectiveRateLimit(endpointLimit: number | null | undefined, applicationLimit: number | null | undefined): number | undefined {
  // (0 is what a PATCH sends to clear a limit in Svix's schema, which allows it: read as not set)
  if (endpointLimit !== null && endpointLimit !== undefined && endpointLimit > 0) return endpointLimit;
  if (applicationLimit !== null && applicationLimit !== undefined && applicationLimit > 0) return applicationLimit;
  return undefined;
}

/**
 * Deferred attempts come back through RabbitMQ's delay tiers up to 50 ms early (rabbitRetryQueue.ts) and a
 * little late; a window narrower than this would send many back to the queue a second time.
 */
export const SHORTEST_RATE_WINDOW_MS = 100;

export type RateWindowSettings = Readonly<{
  /** HOOKPOST_RATE_LIMIT_WAIT_MS: the longest an attempt waits in-process for its request slot. */
  waitMs: number;
  /** At most about this many attempts of one endpoint wait in-process at once (HOOKPOST_ENDPOINT_QUEUE). */
  waitingPerEndpoint: number;
}>;

/**
 * How far ahead an attempt may take a request slot and wait for it in-process. Waiting holds a consumer slot,
 * so at high limits the window narrows to keep the attempts waiting for one endpoint near `waitingPerEndpoint`
 * (a slot per interval: window × limit of them), but never below SHORTEST_RATE_WINDOW_MS.
 */
export function rateWindowMs(perSecond: number, settings: RateWindowSettings): number {
  const forWaiting = (settings.waitingPerEndpoint * 1_000) / perSecond;
  return Math.max(SHORTEST_RATE_WINDOW_MS, Math.min(settings.waitMs, forWaiting));
}

/**
 * Whether a request slot reached `lateMs` after its time is to be left unused (and another asked for) rather
 * than used late. Requests at most L late put at most (1000 + L) ÷ interval + 1 of them in one second, so the
 * limit + 1 holds only while L stays under one interval. Half an interval leaves room for the network's own
 * jitter; where that is shorter than an ordinary pause of the event loop, up to 25 ms is allowed, but never
 * more than 0.8 of an interval (a limit of 50/s: 16 ms, where a 25 ms allowance let 53 requests into one
 * second in the bench). At limits of hundreds a second the allowance is about a millisecond, so some slots are
 * given up and the endpoint gets a little less than its limit: never more.
 */
export function tooLateForSlot(lateMs: number, perSecond: number): boolean {
  const intervalMs = 1_000 / perSecond;
  return lateMs > Math.max(intervalMs / 2, Math.min(25, intervalMs * 0.8));
}

/** What an attempt did under its endpoint's rate limit (metrics). */
export type RatePacingOutcome = 'at once' | 'waited' | 'too late' | 'deferred' | 'limiter unreachable';

/** What the limiter answers one attempt. */
export type RateLimitAnswer =
  /** A request slot is this attempt's, `waitMs` from now (0: at once). */
  | { kind: 'reserved'; waitMs: number }
  /** No slot within the window: the attempt's turn is `turnInMs` from now. */
  | { kind: 'queued'; turnInMs: number };

/** The port the dispatcher uses; RedisRateLimiter is its adapter. Rejects when the limiter cannot be asked. */
export type RateLimiter = {
  take(endpointId: string, request: Readonly<{ perSecond: number; windowMs: number; queued: boolean }>): Promise<RateLimitAnswer>;
};

/** Go after `waitMs` (the request slot is taken), or defer the attempt. */
export type RatePacing = { kind: 'go'; waitMs: number } | { kind: 'defer'; cause: DeferralCause };

/**
 * What an attempt does with the limiter's answer (or with none: Redis unreachable, then it waits and asks
 * again, since going without would be an unthrottled burst). A queued attempt comes back at its turn plus a
 * jitter of up to a quarter of the window, so it lands inside its window even when the retry queue brings it
 * back early or late; `random` returns [0, 1).
 */
export function decideRatePacing(answer: RateLimitAnswer | { kind: 'unreachable' }, request: Readonly<{ perSecond: number; windowMs: number }>, random: () => number): RatePacing {
  switch (answer.kind) {
    case 'reserved':
      return { kind: 'go', waitMs: Math.max(0, answer.waitMs) };
    case 'queued':
      return { kind: 'defer', cause: { kind: 'rate limited', perSecond: request.perSecond, delayMs: Math.max(0, answer.turnInMs) + Math.floor((random() * request.windowMs) / 4) } };
    case 'unreachable':
      return { kind: 'defer', cause: { kind: 'rate limiter unreachable' } };
    default: {
      const unknown: never = answer;
      throw new Error(`unknown rate limiter answer ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Each application's default limit (for its endpoints that set none), remembered so that the dispatcher asks
 * the application directory (Redis, then the read model) once per application every `ttlMs`, not once per
 * attempt. Only the first lookup of an application is waited for (concurrent attempts share it); after that,
 * attempts use the limit known while a fresh one is read in the background, so the read model's answer time
 * never holds deliveries up every few seconds. A change to an application's limit thus applies within `ttlMs`
 * or so; a failed refresh keeps the known limit and is tried again by the next attempt; a failed first lookup
 * rejects (the attempt is deferred) and is not remembered.
 */
export class ApplicationRateLimits {
  private readonly entries = new Map<string, { known?: number | null; until: number; reading?: Promise<number | null> }>();

  constructor(
    private readonly lookUp: (appId: string) => Promise<number | null>,
    private readonly options: Readonly<{ ttlMs: number; maxEntries: number }> = { ttlMs: 5_000, maxEntries: 10_000 },
    private readonly now: () => number = Date.now,
  ) {}

  of(appId: string): Promise<number | null> {
    let entry = this.entries.get(appId);
    if (!entry) {
      // Oldest first: a Map iterates in insertion order.
      while (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(appId, (entry = { until: 0 }));
    }
    if (entry.until <= this.now() && !entry.reading) this.read(appId, entry);
    return 'known' in entry ? Promise.resolve(entry.known ?? null) : entry.reading!;
  }

  private read(appId: string, entry: { known?: number | null; until: number; reading?: Promise<number | null> }): void {
    const reading = this.lookUp(appId);
    entry.reading = reading;
    reading.then(
      (limit) => {
        entry.known = limit;
        entry.until = this.now() + this.options.ttlMs;
        entry.reading = undefined;
      },
      () => {
        entry.reading = undefined;
        if (!('known' in entry) && this.entries.get(appId) === entry) this.entries.delete(appId);
      },
    );
  }
}
