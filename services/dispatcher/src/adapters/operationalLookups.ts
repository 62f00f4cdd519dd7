import { DEFAULT_APPLICATION_ID, isGone, type ApplicationState, type SubscriptionState } from '@hookpost/contracts';
import { within, type EntityDirectory } from '@hookpost/platform';
import type { AttemptContext } from '../delivery/operationalEvents';
import { PROJECTOR_PAGE_TIMEOUT_MS, type StoredMessage } from './projectorDeliveries';

/** How long an operational event waits for what it names besides the attempt (an application's uid, an eventId). */
const LOOKUP_TIMEOUT_MS = 2_000;

/**
 * What an operational event says besides the fact itself, looked up when one is reported (rarely: a failing,
 * exhausted or recovered delivery): the application's uid (the cache, or the read model) and the message's
 * eventId (the read model). Best effort and bounded: a lookup that cannot answer in time leaves the field
 * null rather than hold the attempt's outcome back.
 */
export function attemptContextOf(deps: {
  applications: Pick<EntityDirectory<ApplicationState>, 'find'>;
  messageById: (id: string) => Promise<StoredMessage | undefined>;
}): (endpoint: SubscriptionState, messageId: string | undefined) => Promise<AttemptContext> {
  return async (endpoint, messageId) => {
    const [appUid, msgEventId] = await Promise.all([
      applicationUid(deps.applications, endpoint.app_id ?? DEFAULT_APPLICATION_ID),
      messageId === undefined ? null : within(LOOKUP_TIMEOUT_MS, deps.messageById(messageId)).then((message) => message?.event_id ?? null, () => null),
    ]);
    return { appUid, msgEventId };
  };
}

/** The uid of an application (live or deleted since), or null. */
export function applicationUid(applications: Pick<EntityDirectory<ApplicationState>, 'find'>, appId: string): Promise<string | null> {
  return within(LOOKUP_TIMEOUT_MS, applications.find(appId)).then((known) => (known && !isGone(known) ? (known.uid ?? null) : null), () => null);
}

/**
 * An endpoint's last state as the read model holds it, deleted or not (the configuration consumer names a
 * deleted endpoint's application and uid). The projector answers once it has applied every configuration
 * event written before the call, so the event being reported is in it.
 */
export async function endpointLastState(projectorUrl: string, id: string, headers: Record<string, string>): Promise<SubscriptionState | undefined> {
  const response = await fetch(`${projectorUrl}/internal/subscriptions/${encodeURIComponent(id)}`, { headers, signal: AbortSignal.timeout(PROJECTOR_PAGE_TIMEOUT_MS) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`projector answered ${response.status} for subscription ${id}`);
  const { deleted: _deleted, ...state } = (await response.json()) as SubscriptionState & { deleted: boolean };
  return state as SubscriptionState;
}

/**
 * Whether any operational endpoint is enabled, so a fact nobody would receive is not written at all (no
 * message, no fan-out, no row): most deployments have none, and a failure storm would otherwise write one
 * message per failed delivery. Asked of the read model, which answers after every write acknowledged before
 * the call, so an operational endpoint created before a fact is always seen; a yes is kept `keepYesMs` (a
 * message too many fans out to nobody), a no is never kept (it would hide an endpoint created since). When the
 * read model cannot answer, the fact is written (the fan-out decides).
 */
export function operationalAudience(enabledEndpoints: () => Promise<SubscriptionState[]>, now: () => number = Date.now, keepYesMs = 10_000): () => Promise<boolean> {
  let yesUntil = 0;
  return async () => {
    if (now() < yesUntil) return true;
    const endpoints = await enabledEndpoints().catch(() => undefined);
    if (endpoints === undefined) return true;
    const yes = endpoints.some((endpoint) => endpoint.is_active);
    if (yes) yesUntil = now() + keepYesMs;
    return yes;
  };
}
