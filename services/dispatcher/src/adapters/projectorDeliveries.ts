import type { BackgroundTaskStatus, SubscriptionState } from '@hookpost/contracts';
import type { HeldDelivery } from '../delivery/hold';
import type { OverdueRetry } from '../delivery/overdueRetry';
import type { LaneDeliveryState } from '../lane/laneStep';

/** The dispatcher's view of the read model: deliveries still waiting for a retry. */
export type RetryingDelivery = {
  id: string;
  subscription_id: string;
  event_type: string | null;
  created_at: string;
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
};

/**
 * How long one page from the projector may take, answer and body: the projector itself waits up to
 * HOOKPOST_READ_WAIT_MS (5 s by default) for the log before it answers, so this leaves it room, but a
 * projector that accepted the connection and then hangs fails the page instead of holding its caller (a
 * deletion's consumer slot, a reconciler round) forever.
 */
export const PROJECTOR_PAGE_TIMEOUT_MS = 15_000;

async function projectorPage<T>(url: string, headers: Record<string, string>, what: string, timeoutMs: number): Promise<T> {
  // The signal covers reading the body too, not only the status line.
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`projector answered ${response.status} listing ${what}`);
  return (await response.json()) as T;
}

export async function* retryingDeliveries(
  projectorUrl: string,
  subscriptionId: string,
  headers: Record<string, string>,
  timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS,
): AsyncGenerator<RetryingDelivery> {
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ subscription_id: subscriptionId, status: 'retrying', limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page: { data: RetryingDelivery[]; next_cursor: string | null } = await projectorPage(`${projectorUrl}/deliveries?${query}`, headers, 'retrying deliveries', timeoutMs);
    yield* page.data;
    cursor = page.next_cursor;
  } while (cursor);
}

/** Retries the read model shows overdue (due before `dueBefore`), page by page, from the projector's internal API. */
export async function* overdueRetries(
  projectorUrl: string,
  dueBefore: Date,
  headers: Record<string, string>,
  pageSize = 200,
  timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS,
): AsyncGenerator<OverdueRetry> {
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ due_before: dueBefore.toISOString(), limit: String(pageSize) });
    if (after) query.set('after', after);
    const page: { data: OverdueRetry[]; next_after: string | null } = await projectorPage(
      `${projectorUrl}/internal/deliveries/overdue-retries?${query}`,
      headers,
      'overdue retries',
      timeoutMs,
    );
    yield* page.data;
    after = page.next_after;
  } while (after);
}

/**
 * Every live endpoint of an application (full state, sealed secrets), from the projector's internal API: the
 * projector answers only once it has applied every write acknowledged before the call, so an endpoint created
 * before a message was sent is in the message's fan-out.
 */
export async function endpointsOfApplication(
  projectorUrl: string,
  appId: string,
  headers: Record<string, string>,
  timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS,
): Promise<SubscriptionState[]> {
  const page: { data: SubscriptionState[] } = await projectorPage(`${projectorUrl}/internal/applications/${encodeURIComponent(appId)}/endpoints`, headers, 'endpoints', timeoutMs);
  return page.data;
}

/** A message as the read model holds it (payload null once expunged). */
export type StoredMessage = {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  channels: string[] | null;
  tags: string[] | null;
  payload: Record<string, unknown> | null;
  /** When its payload's retention ends (its bucket), for a payload that came sealed; null (or absent from an older projector) otherwise. */
  payload_expires_at?: string | null;
  created_at: string;
};

export async function messageById(projectorUrl: string, id: string, headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): Promise<StoredMessage | undefined> {
  const response = await fetch(`${projectorUrl}/internal/messages/${encodeURIComponent(id)}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`projector answered ${response.status} for message ${id}`);
  return (await response.json()) as StoredMessage;
}

/**
 * The messages to deliver again to an endpoint (recover: failed there; replay_missing: never sent there), page
 * by page from `after` (a page's `next_after`, null for the start), each page with where the next one starts.
 */
export async function* redeliverablePages(
  projectorUrl: string,
  query: { kind: 'recover' | 'replay_missing'; appId: string; endpointId: string; since: string; until: string | null; after: string | null },
  headers: Record<string, string>,
  timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS,
): AsyncGenerator<{ data: StoredMessage[]; next_after: string | null }> {
  let after = query.after;
  do {
    const params = new URLSearchParams({ kind: query.kind, endpoint_id: query.endpointId, since: query.since, limit: '200' });
    if (query.until) params.set('until', query.until);
    if (after) params.set('after', after);
    const page: { data: StoredMessage[]; next_after: string | null } = await projectorPage(
      `${projectorUrl}/internal/applications/${encodeURIComponent(query.appId)}/redeliverable?${params}`,
      headers,
      'redeliverable messages',
      timeoutMs,
    );
    yield page;
    after = page.next_after;
  } while (after);
}

/** An endpoint's held deliveries, as of every event recorded before the call (see Dispatcher.releaseHeld). */
/** An endpoint's unfinished laned delivery, in lane order, with what its job needs and whether it is held. */
export type LaneBacklogEntry = Omit<OverdueRetry, 'next_attempt_at'> & { next_attempt_at: string | null; held: boolean };

/** An endpoint's unfinished laned deliveries in lane order (the read model's, fenced on every topic). */
export async function* laneBacklog(projectorUrl: string, subscriptionId: string, headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): AsyncGenerator<LaneBacklogEntry> {
  let after: { created_at: string; id: string } | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '200' });
    if (after) query.set('after_created_at', after.created_at), query.set('after_id', after.id);
    const page: { data: LaneBacklogEntry[] } = await projectorPage(
      `${projectorUrl}/internal/subscriptions/${encodeURIComponent(subscriptionId)}/lane-backlog?${query}`,
      headers,
      'lane backlog',
      timeoutMs,
    );
    yield* page.data;
    const last = page.data[page.data.length - 1];
    if (page.data.length < 200 || !last) return;
    after = { created_at: last.created_at, id: last.id };
  }
}

export async function* heldDeliveries(projectorUrl: string, subscriptionId: string, headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): AsyncGenerator<HeldDelivery> {
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (after) query.set('after', after);
    const page: { data: HeldDelivery[]; next_after: string | null } = await projectorPage(
      `${projectorUrl}/internal/subscriptions/${encodeURIComponent(subscriptionId)}/held-deliveries?${query}`,
      headers,
      'held deliveries',
      timeoutMs,
    );
    yield* page.data;
    after = page.next_after;
  } while (after);
}

/** A background task as the read model has it, with the position its last checkpoint recorded. */
export type StoredTask = {
  id: string;
  app_id: string;
  status: BackgroundTaskStatus;
  checkpoint: number | null;
  messages_scanned: number;
  messages_sent: number;
  position: string | null;
  progress: number | null;
};

export async function taskState(projectorUrl: string, id: string, headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): Promise<StoredTask | undefined> {
  const response = await fetch(`${projectorUrl}/internal/background-tasks/${encodeURIComponent(id)}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`projector answered ${response.status} for background task ${id}`);
  return (await response.json()) as StoredTask;
}

/** Which of an application's messages had their content expunged, asked 200 at a time. */
export async function expungedMessages(projectorUrl: string, appId: string, ids: readonly string[], headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): Promise<Set<string>> {
  const expunged = new Set<string>();
  for (let from = 0; from < ids.length; from += 200) {
    const query = new URLSearchParams({ ids: ids.slice(from, from + 200).join(',') });
    const page: { data: string[] } = await projectorPage(`${projectorUrl}/internal/applications/${encodeURIComponent(appId)}/expunged?${query}`, headers, 'expunged messages', timeoutMs);
    for (const id of page.data) expunged.add(id);
  }
  return expunged;
}

/** Where a lane's delivery stands, as of every event recorded before the call (undefined: not in the read model). */
export async function laneDeliveryState(projectorUrl: string, id: string, headers: Record<string, string>, fenced = true, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): Promise<LaneDeliveryState | undefined> {
  const response = await fetch(`${projectorUrl}/internal/deliveries/${encodeURIComponent(id)}/lane-state${fenced ? '' : '?fence=none'}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`projector answered ${response.status} for the lane state of ${id}`);
  return (await response.json()) as LaneDeliveryState;
}

/** The endpoints whose lanes have deliveries still to send (what a dispatcher consumes besides the lanes it fills). */
export async function lanesWithWork(projectorUrl: string, headers: Record<string, string>, timeoutMs = PROJECTOR_PAGE_TIMEOUT_MS): Promise<string[]> {
  const page: { data: string[] } = await projectorPage(`${projectorUrl}/internal/lanes-with-work`, headers, 'lanes with work', timeoutMs);
  return page.data;
}
