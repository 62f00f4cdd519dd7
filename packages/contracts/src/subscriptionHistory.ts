import type { EventOf, SubscriptionChanges, SubscriptionState } from './events';

/**
 * A subscription's history folded into its state. The log is the only truth: the read model, the Redis cache
 * and every writer compute a subscription by folding its events in log order with `evolveSubscription`, so
 * they cannot disagree about what it is. (All of a subscription's events share its key, hence one partition
 * and one order.)
 */

/** A subscription as the log leaves it: its last state, and when it was deleted if it was. */
export type SubscriptionRecord = Readonly<{ state: SubscriptionState; deleted_at: string | null }>;

/** What the command side keeps of a subscription (the cache entry): its state, or that it is gone. */
export type KnownSubscription = SubscriptionState | DeletedSubscription;
export type DeletedSubscription = { id: string; version: number; deleted: true };

export function isDeleted(known: KnownSubscription): known is DeletedSubscription {
  return 'deleted' in known && known.deleted === true;
}

export type SubscriptionEvent = EventOf<'SubscriptionCreated' | 'SubscriptionUpdated' | 'SubscriptionChanged' | 'SubscriptionDeleted'>;

export const subscriptionEventTypes: ReadonlySet<string> = new Set(['SubscriptionCreated', 'SubscriptionUpdated', 'SubscriptionChanged', 'SubscriptionDeleted']);

export function isSubscriptionEvent(event: { type: string }): event is SubscriptionEvent {
  return subscriptionEventTypes.has(event.type);
}

/**
 * One event applied to a subscription's record. Versions are counted here, one per applied change, so two
 * writers that both believed they made version n still end, for every reader, as n and n + 1 with both
 * changes kept. A deletion is final: nothing changes a deleted subscription.
 */
export function evolveSubscription(current: SubscriptionRecord | undefined, event: SubscriptionEvent): SubscriptionRecord | undefined {
  switch (event.type) {
    case 'SubscriptionCreated':
      return current ?? { state: event.data, deleted_at: null };
    case 'SubscriptionUpdated':
      // A whole state, from before changes were recorded as changes: the higher version wins.
      if (!current) return { state: event.data, deleted_at: null };
      if (current.deleted_at !== null || event.data.version <= current.state.version) return current;
      return { state: event.data, deleted_at: null };
    case 'SubscriptionChanged': {
      if (!current || current.deleted_at !== null) return current;
      const state: SubscriptionState = { ...current.state, ...event.data.changes, version: current.state.version + 1, updated_at: event.data.changed_at };
      return { state, deleted_at: null };
    }
    case 'SubscriptionDeleted': {
      if (!current || current.deleted_at !== null) return current;
      const version = Math.max(event.data.version, current.state.version + 1);
      return { state: { ...current.state, version, updated_at: event.data.deleted_at }, deleted_at: event.data.deleted_at };
    }
    default: {
      const unknown: never = event;
      throw new Error(`no fold for event ${(unknown as { type: string }).type}`);
    }
  }
}

/** Whether the previous secret (after a rotation) still signs at `at`: only until its overlap ends. */
export function previousSecretSigns(state: Pick<SubscriptionState, 'previous_secret' | 'previous_secret_expires_at'>, at: Date): boolean {
  const expiresAt = state.previous_secret_expires_at;
  return Boolean(state.previous_secret) && Boolean(expiresAt) && Date.parse(expiresAt!) > at.getTime();
}

/**
 * The change that drops a previous secret whose overlap has ended ({} when there is none): every writer adds
 * it to the next change it makes, so an expired secret is not kept, sealed, in the state for ever.
 */
export function expiredPreviousSecretCleared(state: Pick<SubscriptionState, 'previous_secret' | 'previous_secret_expires_at'>, now: Date): SubscriptionChanges {
  if (!state.previous_secret || previousSecretSigns(state, now)) return {};
  return { previous_secret: null, previous_secret_expires_at: null };
}

/** What the command side keeps of a record. */
export function knownFromRecord(record: SubscriptionRecord): KnownSubscription {
  return record.deleted_at === null ? record.state : { id: record.state.id, version: record.state.version, deleted: true };
}

/** The ETag of a subscription's version (strong: the version names one exact state). */
export function subscriptionETag(version: number): string {
  return `"${version}"`;
}

/**
 * RFC 9110 If-Match against the current version: absent → no condition; `*` → any existing subscription;
 * otherwise one of the listed strong ETags must name the current version (a weak ETag never matches).
 */
export function ifMatchHolds(header: string | undefined, currentVersion: number): boolean {
  if (header === undefined) return true;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  const wanted = subscriptionETag(currentVersion);
  return trimmed.split(',').some((tag) => tag.trim() === wanted);
}
