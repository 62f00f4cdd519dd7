import { makeEvent, type EventOf } from '@hookpost/contracts';
import { outcomeSoFar, type DeliveryJob } from './deliveryJob';

/**
 * Fair sharing of the delivery slots between endpoints. Without it one endpoint that holds every request until
 * the timeout (a tarpit) takes every slot, since work arrives faster than it leaves, and every other
 * subscription waits behind it. Here each endpoint (a target URL's origin: scheme, host and port) has at most
 * `perEndpoint` attempts in flight in this dispatcher; an attempt that finds its endpoint full waits for a
 * slot, in order, but only `waitMs` and only behind `waitingPerEndpoint` others: past either, it is deferred
 * (handed back to the retry queue to come back later, no attempt counted) and the consumer slot it held is
 * free for other endpoints. So one endpoint holds at most `perEndpoint` + `waitingPerEndpoint` consumer slots,
 * the second group for at most `waitMs` each.
 */
export type EndpointLimits = Readonly<{
  perEndpoint: number;
  waitingPerEndpoint: number;
  waitMs: number;
}>;

/** The endpoint an attempt to `targetUrl` counts against, or undefined when it cannot be connected to at all. */
export function endpointOf(targetUrl: string): string | undefined {
  try {
    const url = new URL(targetUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

export type ShareDecision = { kind: 'go' } | { kind: 'wait' } | { kind: 'defer' };

/**
 * What an attempt arriving at an endpoint does, given what is in flight and waiting there now. Slots go to
 * waiters first (in arrival order), so an arrival goes ahead only when nobody is waiting.
 */
export function decideShare(endpoint: Readonly<{ inFlight: number; waiting: number }>, limits: EndpointLimits): ShareDecision {
  if (endpoint.inFlight < limits.perEndpoint && endpoint.waiting === 0) return { kind: 'go' };
  if (endpoint.waiting < limits.waitingPerEndpoint && limits.waitMs > 0) return { kind: 'wait' };
  return { kind: 'defer' };
}

const FIRST_DEFERRAL_MS = 500;
const LONGEST_DEFERRAL_MS = 30_000;

/**
 * How long a deferred attempt stays away: 0.5 s, doubling with each deferral of the same attempt up to 30 s,
 * ±20 % so deferred attempts do not all come back together. A saturated endpoint's backlog thus costs a few
 * cheap checks per second, not a busy loop; `random` returns [0, 1).
 */
export function deferralDelay(deferrals: number, random: () => number): number {
  const base = Math.min(FIRST_DEFERRAL_MS * 2 ** Math.min(Math.max(deferrals, 0), 10), LONGEST_DEFERRAL_MS);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Why a deferral happened, as the log records it. */
export const ENDPOINT_BUSY = 'the endpoint had no free delivery slot (its share of this dispatcher is in use)';

/**
 * Putting an attempt off: the job to schedule (same attempt number, one more deferral), when, and the event
 * that records it. Recording it keeps the log the truth: a deferred first attempt is then known outside
 * RabbitMQ, and the reconciler re-schedules it if RabbitMQ loses it, as it does retries. By default the
 * endpoint was busy (deferralDelay); a probed endpoint (endpointHealth.ts) gives its own reason and delay.
 */
export function decideDeferral(
  job: DeliveryJob,
  deps: { now: () => Date; newId: () => string; random: () => number },
  why: { reason: string; delayMs: number } = { reason: ENDPOINT_BUSY, delayMs: deferralDelay(job.deferrals ?? 0, deps.random) },
): { job: DeliveryJob; delayMs: number; events: [EventOf<'DeliveryDeferred'>] } {
  const deferrals = (job.deferrals ?? 0) + 1;
  const { delayMs } = why;
  const event = makeEvent(
    'DeliveryDeferred',
    {
      ...outcomeSoFar(job),
      attempt_number: job.attempt_number,
      next_attempt_at: new Date(deps.now().getTime() + delayMs).toISOString(),
      reason: why.reason,
    },
    deps,
  );
  return { job: { ...job, deferrals }, delayMs, events: [event] };
}

/** A slot taken at one endpoint; releasing it twice releases it once. */
export type EndpointSlot = { release: () => void };

type Waiter = { granted: (slot: EndpointSlot | undefined) => void; timer: ReturnType<typeof setTimeout> };
type Endpoint = { inFlight: number; waiters: Waiter[] };

/** Timers, passed in so a test can see what waits without waiting. */
export type ShareTimers = { setTimeout: (run: () => void, ms: number) => ReturnType<typeof setTimeout>; clearTimeout: (timer: ReturnType<typeof setTimeout>) => void };

/** The slots of every endpoint in this dispatcher, kept by decideShare's rule. Endpoints with nothing in flight are forgotten. */
export class EndpointShares {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(
    private readonly limits: EndpointLimits,
    private readonly timers: ShareTimers = { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (timer) => clearTimeout(timer) },
  ) {}

  /** A slot at `endpoint`, now or after waiting its turn; undefined when the attempt is to be deferred. */
  take(endpoint: string): Promise<EndpointSlot | undefined> {
    let state = this.endpoints.get(endpoint);
    if (!state) this.endpoints.set(endpoint, (state = { inFlight: 0, waiters: [] }));
    const decision = decideShare({ inFlight: state.inFlight, waiting: state.waiters.length }, this.limits);
    switch (decision.kind) {
      case 'go':
        state.inFlight += 1;
        return Promise.resolve(this.slot(endpoint, state));
      case 'wait': {
        const current = state;
        return new Promise((resolve) => {
          const waiter: Waiter = {
            granted: resolve,
            timer: this.timers.setTimeout(() => {
              current.waiters.splice(current.waiters.indexOf(waiter), 1);
              this.forgetIfIdle(endpoint, current);
              resolve(undefined);
            }, this.limits.waitMs),
          };
          current.waiters.push(waiter);
        });
      }
      case 'defer':
        this.forgetIfIdle(endpoint, state);
        return Promise.resolve(undefined);
      default: {
        const unknown: never = decision;
        throw new Error(`unknown share decision ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Attempts in flight and waiting at `endpoint` (metrics, tests). */
  usage(endpoint: string): { inFlight: number; waiting: number } {
    const state = this.endpoints.get(endpoint);
    return { inFlight: state?.inFlight ?? 0, waiting: state?.waiters.length ?? 0 };
  }

  private slot(endpoint: string, state: Endpoint): EndpointSlot {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const next = state.waiters.shift();
        if (next) {
          // The slot passes straight to the longest waiter: in flight stays the same.
          this.timers.clearTimeout(next.timer);
          next.granted(this.slot(endpoint, state));
          return;
        }
        state.inFlight -= 1;
        this.forgetIfIdle(endpoint, state);
      },
    };
  }

  private forgetIfIdle(endpoint: string, state: Endpoint): void {
    if (state.inFlight === 0 && state.waiters.length === 0 && this.endpoints.get(endpoint) === state) this.endpoints.delete(endpoint);
  }
}
