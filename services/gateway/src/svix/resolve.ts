import { DEFAULT_APPLICATION_ID, isGone, parseIdOrUid, type ApplicationState, type BackgroundTaskRow, type EventTypeState, type Known, type SubscriptionState } from '@hookpost/contracts';
import { HttpProblem, NotFound, ServiceUnavailable, type EntityDirectory, type RedisClient } from '@hookpost/platform';
import type { LaneHead } from '../commands/svixDecide';

/**
 * Finds what a Svix path names: an application by id or uid, one of its endpoints by id or uid, an event type
 * by name. A uid is looked up in Redis (uid → id, kept for a day) and, on a miss or a stale entry, in the read
 * model, which answers only after every write acknowledged before the call. Anything not found — never
 * existed, deleted, or another application's endpoint — is the same 404.
 */
export class SvixResolver {
  constructor(
    private readonly deps: {
      redis: RedisClient;
      prefix: string;
      applications: Pick<EntityDirectory<ApplicationState>, 'find'>;
      endpoints: Pick<EntityDirectory<SubscriptionState>, 'find'>;
      eventTypes: Pick<EntityDirectory<EventTypeState>, 'find'>;
      projectorUrl: string;
      projectorHeaders: Record<string, string>;
      uidTtlMs?: number;
    },
  ) {}

  private uidKey(scope: string, uid: string): string {
    return `${this.deps.prefix}uid:${scope}:${uid}`;
  }

  /** Remembers which id a uid names (after a create, or a lookup in the read model). */
  async rememberUid(scope: string, uid: string, id: string): Promise<void> {
    await this.deps.redis.set(this.uidKey(scope, uid), id, { PX: this.deps.uidTtlMs ?? 86_400_000 });
  }

  /** The id a uid names now, or undefined. */
  async idForUid(scope: string, uid: string, lookup: () => Promise<string | undefined>, holds: (id: string) => Promise<boolean>): Promise<string | undefined> {
    const cached = await this.deps.redis.get(this.uidKey(scope, uid));
    if (cached && (await holds(cached))) return cached;
    const found = await lookup();
    if (found) await this.rememberUid(scope, uid, found);
    else if (cached) await this.deps.redis.del(this.uidKey(scope, uid));
    return found;
  }

  private async internalId(path: string): Promise<string | undefined> {
    return (await this.internal<{ id: string }>(path))?.id;
  }

  /** The live application `text` names (its id or uid), or undefined. */
  findApplication(text: string): Promise<ApplicationState | undefined> {
    return answerable(this.applicationNamed(text));
  }

  private async applicationNamed(text: string): Promise<ApplicationState | undefined> {
    const ref = parseIdOrUid('app', text);
    if (!ref) return undefined;
    const live = async (id: string) => alive(await this.deps.applications.find(id));
    if (ref.kind === 'id') return live(ref.id);
    const id = await this.idForUid('app', ref.uid, () => this.internalId(`application-uids/${encodeURIComponent(ref.uid)}`), async (candidate) => (await live(candidate))?.uid === ref.uid);
    return id ? live(id) : undefined;
  }

  async application(text: string): Promise<ApplicationState> {
    const found = await this.findApplication(text);
    if (!found) throw new NotFound(`No application ${text}.`);
    return found;
  }

  /** The live endpoint of `app` that `text` names (its id or its uid within the application), or undefined. */
  findEndpoint(app: ApplicationState, text: string): Promise<SubscriptionState | undefined> {
    return answerable(this.endpointNamed(app, text));
  }

  private async endpointNamed(app: ApplicationState, text: string): Promise<SubscriptionState | undefined> {
    const ref = parseIdOrUid('ep', text);
    if (!ref) return undefined;
    const live = async (id: string) => {
      const endpoint = alive(await this.deps.endpoints.find(id));
      return endpoint && (endpoint.app_id ?? DEFAULT_APPLICATION_ID) === app.id ? endpoint : undefined;
    };
    if (ref.kind === 'id') return live(ref.id);
    const id = await this.idForUid(`ep:${app.id}`, ref.uid, () => this.internalId(`applications/${app.id}/endpoint-uids/${encodeURIComponent(ref.uid)}`), async (candidate) => (await live(candidate))?.uid === ref.uid);
    return id ? live(id) : undefined;
  }

  async endpoint(app: ApplicationState, text: string): Promise<SubscriptionState> {
    const found = await this.findEndpoint(app, text);
    if (!found) throw new NotFound(`No endpoint ${text}.`);
    return found;
  }

  /** Every live endpoint of `app`, as of every write acknowledged before the call. */
  async endpointsOf(app: ApplicationState): Promise<SubscriptionState[]> {
    const page = await answerable(this.internal<{ data: SubscriptionState[] }>(`applications/${app.id}/endpoints`));
    return page?.data ?? [];
  }

  /** The message of `app` that `text` names (its id, or its eventId), as the read model knows it. */
  async message(app: ApplicationState, text: string): Promise<{ id: string; event_type: string }> {
    const found = await answerable(this.internal<{ id: string; event_type: string }>(`applications/${app.id}/messages/${encodeURIComponent(text)}`));
    if (!found) throw new NotFound(`No message ${text}.`);
    return found;
  }

  /** An attempt of one of `app`'s messages, with the delivery it belongs to. */
  async attempt(app: ApplicationState, messageText: string, attemptText: string): Promise<{ id: string; delivery_id: string }> {
    const found = await answerable(
      this.internal<{ id: string; delivery_id: string }>(`applications/${app.id}/messages/${encodeURIComponent(messageText)}/attempts/${encodeURIComponent(attemptText)}`),
    );
    if (!found) throw new NotFound(`No attempt ${attemptText}.`);
    return found;
  }

  /** The head of an endpoint's lane (ordered endpoints), as of every write before the call; 404 when none waits. */
  async laneHead(endpoint: SubscriptionState): Promise<LaneHead> {
    const found = await answerable(this.internal<LaneHead>(`subscriptions/${endpoint.id}/lane-head`));
    if (!found) throw new NotFound('No delivery waits in the ordered endpoint\'s lane.');
    return found;
  }

  /** A background task by its qtask_ id, as the read model has it (after every write before the call). */
  async task(text: string): Promise<BackgroundTaskRow> {
    const ref = parseIdOrUid('qtask', text);
    const found = ref?.kind === 'id' ? await answerable(this.internal<BackgroundTaskRow>(`background-tasks/${ref.id}`)) : undefined;
    if (!found) throw new NotFound(`No background task ${text}.`);
    return found;
  }

  private async internal<T>(path: string): Promise<T | undefined> {
    const response = await fetch(`${this.deps.projectorUrl}/internal/${path}`, { headers: this.deps.projectorHeaders, signal: AbortSignal.timeout(15_000) });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`projector answered ${response.status} for ${path}`);
    return (await response.json()) as T;
  }

  async findEventType(name: string): Promise<EventTypeState | undefined> {
    if (!/^[a-zA-Z0-9\-_.]{1,256}$/.test(name)) return undefined;
    return alive(await answerable(this.deps.eventTypes.find(name)));
  }
}

function alive<S extends { id: string; version: number; updated_at: string }>(known: Known<S> | undefined): S | undefined {
  return known && !isGone(known) ? known : undefined;
}

/** A lookup that cannot be answered now (Redis or the read model down) is a 503 to retry, never a 500. */
async function answerable<T>(lookup: Promise<T>): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw new ServiceUnavailable('The resource could not be looked up right now; try again shortly.');
  }
}
