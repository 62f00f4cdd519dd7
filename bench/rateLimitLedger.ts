/**
 * The rate-limit phase's bookkeeping, kept apart from the load so it can be tested on its own. One application
 * with two endpoints at the bench receiver: endpoint 0 limited to `perSecond`, endpoint 1 without a limit.
 * Times are performance.now() milliseconds of the bench process, where both the sending and the receiving happen.
 */
import { mostWithin } from '../test/support/rateWindow';
import type { FanOutArrivals } from './fanOutLedger';
import { percentile } from './percentile';

export const LIMITED = 0;
export const UNLIMITED = 1;

const round = (value: number, digits = 1) => +value.toFixed(digits);

/**
 * When a perfect limiter would deliver each message: in the order they were accepted, each at its acceptance
 * or one interval after the one before, whichever is later.
 */
export function idealArrivals(acceptedAt: readonly number[], perSecond: number): number[] {
  const interval = 1_000 / perSecond;
  const ideal: number[] = [];
  for (const at of [...acceptedAt].sort((a, b) => a - b)) ideal.push(ideal.length === 0 ? at : Math.max(at, ideal[ideal.length - 1]! + interval));
  return ideal;
}

/**
 * The ledger and pace of a run. Every accepted message must reach both endpoints once (missing: never seen;
 * duplicates: requests past the first). At the limited endpoint: deliveries per second from its first to its
 * last arrival (the limit is the most it can be), the most in any one second (at most limit + 1), the wait from
 * each message's 202 to its arrival, and how far each arrival came behind a perfect limiter's (the k-th arrival
 * against the k-th ideal one): what the limiter's machinery (turns, deferrals through the retry queue) costs.
 * At the unlimited endpoint: the same 202 → arrival latency, which the limited sibling must not hold up.
 */
export function rateLimitLedger(input: { accepted: ReadonlyMap<string, { accepted: number }>; arrivals: FanOutArrivals; perSecond: number }) {
  const { accepted, arrivals, perSecond } = input;
  const waits: Record<number, number[]> = { [LIMITED]: [], [UNLIMITED]: [] };
  const arrivedAt: Record<number, number[]> = { [LIMITED]: [], [UNLIMITED]: [] };
  let missing = 0;
  let duplicates = 0;
  for (const [id, message] of accepted) {
    for (const endpoint of [LIMITED, UNLIMITED]) {
      const seen = arrivals.get(id)?.get(endpoint);
      if (!seen) {
        missing += 1;
        continue;
      }
      duplicates += seen.requests - 1;
      waits[endpoint]!.push(seen.first - message.accepted);
      arrivedAt[endpoint]!.push(seen.first);
    }
  }
  const limited = [...arrivedAt[LIMITED]!].sort((a, b) => a - b);
  const ideal = idealArrivals([...accepted.values()].map((message) => message.accepted), perSecond);
  const behind = limited.map((at, k) => at - ideal[k]!).sort((a, b) => a - b);
  const span = limited.length > 1 ? (limited[limited.length - 1]! - limited[0]!) / 1000 : 0;
  for (const list of Object.values(waits)) list.sort((a, b) => a - b);
  return {
    ledger: { messages_accepted: accepted.size, deliveries_expected: 2 * accepted.size, deliveries_arrived: arrivedAt[LIMITED]!.length + arrivedAt[UNLIMITED]!.length, missing, duplicates },
    limited: {
      limit_per_s: perSecond,
      deliveries_per_s: span > 0 ? round((limited.length - 1) / span) : 0,
      most_in_one_second: mostWithin(limited),
      wait_p50_ms: round(percentile(waits[LIMITED]!, 50)),
      wait_p99_ms: round(percentile(waits[LIMITED]!, 99)),
      behind_ideal_p50_ms: round(percentile(behind, 50)),
      behind_ideal_p99_ms: round(percentile(behind, 99)),
    },
    unlimited: {
      wait_p50_ms: round(percentile(waits[UNLIMITED]!, 50)),
      wait_p99_ms: round(percentile(waits[UNLIMITED]!, 99)),
    },
  };
}
