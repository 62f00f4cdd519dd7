import type { MessageAttemptOut } from '@hookpost/contracts';

/**
 * Where `tail` gets delivery attempts from. Hookpost has no push API yet, so the one source today polls the
 * attempt lists (pollingDeliveryFeed.ts); a server-sent event stream would be another DeliveryFeed, and tail
 * would not change.
 */
export interface DeliveryFeed {
  /** Attempts as they are recorded (each once, oldest first within what arrives together) until `signal` aborts. */
  follow(signal: AbortSignal): AsyncIterable<FeedItem>;
}

export type FeedItem =
  | Readonly<{ kind: 'attempt'; attempt: MessageAttemptOut }>
  /** Something the user should know while following (connection lost, back again); the feed goes on. */
  | Readonly<{ kind: 'notice'; message: string }>;

/**
 * What a poller has seen: attempts are asked for by time, from a little before the newest one seen (the
 * overlap: an attempt can reach the read model after a later one did, and must not be missed), and the
 * ones seen already are skipped by id.
 */
export type SeenAttempts = Readonly<{
  /** Attempts older than this are never shown (the start of the tail). */
  floorMs: number;
  newestMs: number | undefined;
  seen: ReadonlyMap<string, number>;
}>;

export function startSeen(floorMs: number): SeenAttempts {
  return { floorMs, newestMs: undefined, seen: new Map() };
}

/** The `after` bound of the next poll. */
export function pollAfterMs(state: SeenAttempts, overlapMs: number): number {
  return state.newestMs === undefined ? state.floorMs : Math.max(state.floorMs, state.newestMs - overlapMs);
}

/**
 * The attempts of one poll that were not shown yet, oldest first, and the state after them. Ids older than
 * the window any later poll can return are forgotten, so the state stays as small as the overlap.
 */
export function admitAttempts(state: SeenAttempts, polled: readonly MessageAttemptOut[], overlapMs: number): { fresh: MessageAttemptOut[]; state: SeenAttempts } {
  const seen = new Map(state.seen);
  const fresh: MessageAttemptOut[] = [];
  for (const attempt of polled) {
    const at = Date.parse(attempt.timestamp);
    if (seen.has(attempt.id) || at < state.floorMs) continue;
    seen.set(attempt.id, at);
    fresh.push(attempt);
  }
  fresh.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const newestMs = Math.max(state.newestMs ?? Number.NEGATIVE_INFINITY, ...fresh.map((attempt) => Date.parse(attempt.timestamp)));
  const next = { ...state, newestMs: Number.isFinite(newestMs) ? newestMs : state.newestMs, seen };
  const oldestAsked = pollAfterMs(next, overlapMs);
  for (const [id, at] of seen) if (at < oldestAsked) seen.delete(id);
  return { fresh, state: next };
}
