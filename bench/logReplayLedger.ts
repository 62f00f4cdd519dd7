/**
 * The log replay phase's bookkeeping, kept apart from the load (as fanOutLedger.ts) so it can be tested on its
 * own: what of the messages sent reached the replaying endpoint.
 */
import type { FanOutArrivals } from './fanOutLedger';

/** The receiver path of the replaying endpoint: a fan-out path of its own, far past the fan-out phase's. */
export const REPLAY_ENDPOINT_INDEX = 999_999;

export type LogReplayLedger = { replayed: number; missing: number; duplicates: number };

/** Of `sent` messages, how many reached the replaying endpoint, how many never did, and requests past the first. */
export function logReplayLedger(sent: readonly string[], arrivals: FanOutArrivals): LogReplayLedger {
  let replayed = 0;
  let duplicates = 0;
  for (const id of sent) {
    const seen = arrivals.get(id)?.get(REPLAY_ENDPOINT_INDEX);
    if (!seen) continue;
    replayed += 1;
    duplicates += seen.requests - 1;
  }
  return { replayed, missing: sent.length - replayed, duplicates };
}
