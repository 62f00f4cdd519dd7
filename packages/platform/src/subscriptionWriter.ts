import { randomUUID } from 'node:crypto';
import {
  evolveApplication,
  evolveEventType,
  evolveSubscription,
  isGone,
  knownOf,
  topicFor,
  type ApplicationEvent,
  type ApplicationState,
  type EntityRecord,
  type EntityState,
  type EventTypeEvent,
  type EventTypeState,
  type HookpostEvent,
  type Known,
  type SubscriptionEvent,
  type SubscriptionState,
  type Topics,
} from '@hookpost/contracts';
import type { EventRecord } from './kafka';
import type { Logger } from './logger';
import type { EntityDirectory, RedisClient, RedisEntityCache } from './subscriptionDirectory';

// Takes the lock and says whether the last holder left a write unfinished (its intent is still there).
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local prior = redis.call('GET', KEYS[2])
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  if prior then return prior end
  return ''
end
return false`;

// Gives the lock back; clears the intent only when the write is known to have finished (cache included).
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

/** Another writer held the entity for longer than a command may wait. */
export class SubscriptionBusyError extends Error {
  constructor(id: string, kind = 'subscription') {
    super(`${kind} ${id} is being changed by another writer`);
    this.name = 'SubscriptionBusyError';
  }
}

export type SubscriptionWriterOptions<S extends EntityState = SubscriptionState> = {
  redis: RedisClient;
  prefix: string;
  directory: Pick<EntityDirectory<S>, 'find' | 'fromReadModel'>;
  cache: Pick<RedisEntityCache<S>, 'put'>;
  /** Appends to the log and resolves once Kafka acknowledged (throws otherwise). */
  append: (records: EventRecord[]) => Promise<void>;
  topics: Topics;
  log: Logger;
  /** How long a holder may keep the lock: longer than an append may take. */
  lockTtlMs?: number;
  /** How long a writer waits for another to finish before giving up. */
  lockWaitMs?: number;
};

export type EntityDecision<E, T> = { events: E[]; result: T };
export type SubscriptionDecision<T> = EntityDecision<SubscriptionEvent, T>;

/**
 * Changes a subscription without losing anyone's update. Every writer (API calls, rotation, the dispatcher's
 * automatic disable) decides from the current state and appends while holding a per-subscription lock in
 * Redis, so decisions, If-Match checks included, are made one after another on the latest version. The log
 * stays the truth: events record changes, not snapshots, and every reader folds them in log order, so even a
 * lock that expired under a stuck writer ends with both changes kept and every reader agreeing.
 *
 * A writer that dies between its append and its cache update leaves its intent behind; the next writer then
 * reads the subscription from the read model (which waits until it has applied the whole log) instead of
 * trusting the cache.
 */
export class EntityWriter<S extends EntityState, E extends HookpostEvent> {
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(
    private readonly options: SubscriptionWriterOptions<S>,
    /** The entity's kind, in lock keys and messages. */
    private readonly kind: string,
    /** The fold every reader of the log runs (see subscriptionHistory.ts, entityHistory.ts). */
    private readonly evolve: (record: EntityRecord<S> | undefined, event: E) => EntityRecord<S> | undefined,
  ) {
    this.lockTtlMs = options.lockTtlMs ?? 30_000;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  async change<T>(id: string, decide: (current: Known<S> | undefined) => EntityDecision<E, T>): Promise<{ result: T; after: Known<S> | undefined }> {
    const { options } = this;
    const token = randomUUID();
    const keys = [`${options.prefix}lock:${this.kind}:${id}`, `${options.prefix}intent:${this.kind}:${id}`];
    const prior = await this.acquire(id, token, keys);
    // From the append until the cache holds its result, the log may be ahead of the cache.
    let unsettled = false;
    try {
      const current = prior === '' ? await options.directory.find(id) : await options.directory.fromReadModel(id);
      const { events, result } = decide(current);
      if (events.length === 0) return { result, after: current };
      unsettled = true;
      await options.append(events.map((event) => ({ ...topicFor(options.topics, event), event })));
      const after = foldKnown(current, events, this.evolve);
      if (after) await options.cache.put(after);
      unsettled = false;
      return { result, after };
    } finally {
      await options.redis
        .eval(RELEASE, { keys, arguments: [token, unsettled ? '0' : '1'] })
        .catch((error: unknown) => options.log.warn({ err: error, kind: this.kind, id }, 'writer lock release failed; it expires'));
    }
  }

  private async acquire(id: string, token: string, keys: string[]): Promise<string> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const prior = await this.options.redis.eval(ACQUIRE, { keys, arguments: [token, String(this.lockTtlMs), String(7 * 24 * 3_600_000)] });
      if (typeof prior === 'string') return prior;
      if (Date.now() + wait > deadline) throw new SubscriptionBusyError(id, this.kind);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** The command side's view after its own events: the same fold every reader of the log runs. */
export function foldKnown<S extends EntityState, E>(
  current: Known<S> | undefined,
  events: readonly E[],
  evolve: (record: EntityRecord<S> | undefined, event: E) => EntityRecord<S> | undefined,
): Known<S> | undefined {
  // (a gone entity is folded as deleted: only a creation, where the fold allows one, brings it back)
  let record: EntityRecord<S> | undefined = current
    ? isGone(current)
      ? { state: { id: current.id, version: current.version } as S, deleted_at: 'deleted' }
      : { state: current, deleted_at: null }
    : undefined;
  for (const event of events) record = evolve(record, event);
  return record ? knownOf(record) : undefined;
}

export class SubscriptionWriter extends EntityWriter<SubscriptionState, SubscriptionEvent> {
  constructor(options: SubscriptionWriterOptions) {
    super(options, 'subscription', evolveSubscription);
  }
}
export class ApplicationWriter extends EntityWriter<ApplicationState, ApplicationEvent> {
  constructor(options: SubscriptionWriterOptions<ApplicationState>) {
    super(options, 'application', evolveApplication);
  }
}
export class EventTypeWriter extends EntityWriter<EventTypeState, EventTypeEvent> {
  constructor(options: SubscriptionWriterOptions<EventTypeState>) {
    super(options, 'event_type', evolveEventType);
  }
}
