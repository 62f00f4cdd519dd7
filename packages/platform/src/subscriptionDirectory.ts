import type { createClient } from 'redis';
import { applicationStateSchema, compile, eventTypeStateSchema, subscriptionStateSchema, type ApplicationState, type EntityState, type EventTypeState, type Known, type SubscriptionState } from '@hookpost/contracts';

export { isDeleted, type KnownSubscription } from '@hookpost/contracts';

export type RedisClient = ReturnType<typeof createClient>;

// Writes only if the stored entry is older (or, for the projector, which folds the log itself, not newer),
// so the writers (after Kafka's ack) and the projector (after its commit) keep the cache in step without an
// older version overwriting a newer one, and the log's fold has the last word on a version both wrote.
const PUT_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored.version) then
    local stale = tonumber(stored.version)
    if ARGV[3] == '1' then stale = stale - 1 end
    if stale >= tonumber(ARGV[2]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1`;

/** A cache entry as read back: used only if it has the shape it was written with. */
function knownFrom<S extends EntityState>(text: string, validState: (value: unknown) => { ok: boolean }): Known<S> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const entry = value as Record<string, unknown>;
  if (entry.deleted === true) {
    return typeof entry.id === 'string' && Number.isInteger(entry.version) ? { id: entry.id, version: entry.version as number, deleted: true } : undefined;
  }
  return validState(entry).ok ? (entry as S) : undefined;
}

/**
 * The cache in Redis of one kind of entity (subscriptions, applications, event types), as the command side
 * decides from it. Entries expire (`ttlMs`, a day by default): the log stays the truth and an entity nobody
 * asked for in a day is read from the read model again, so the cache never grows without bound nor keeps a
 * stale entry forever.
 */
export class RedisEntityCache<S extends EntityState> {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly kind: string,
    private readonly validState: (value: unknown) => { ok: boolean },
    private readonly ttlMs = 86_400_000,
  ) {}

  key(id: string): string {
    return `${this.prefix}${this.kind}:${id}`;
  }

  /** The cached entry; one that cannot be read back (corrupt, wrong shape) is dropped: a miss, refilled from the read model. */
  async get(id: string): Promise<Known<S> | undefined> {
    const text = await this.redis.get(this.key(id));
    if (!text) return undefined;
    const known = knownFrom<S>(text, this.validState);
    if (!known) await this.redis.del(this.key(id));
    return known;
  }

  /**
   * Stores `known` unless a newer version is cached. `authoritative` (the projector's fold of the log, or a
   * writer that just re-read it) also replaces an entry of the same version.
   */
  async put(known: Known<S>, authoritative = false): Promise<void> {
    await this.redis.eval(PUT_IF_NEWER, {
      keys: [this.key(known.id)],
      arguments: [JSON.stringify(known), String(known.version), authoritative ? '1' : '0', String(this.ttlMs)],
    });
  }
}

export class RedisSubscriptionCache extends RedisEntityCache<SubscriptionState> {
  constructor(redis: RedisClient, prefix: string, ttlMs?: number) {
    super(redis, prefix, 'subscription', compile(subscriptionStateSchema), ttlMs);
  }
}
export class RedisApplicationCache extends RedisEntityCache<ApplicationState> {
  constructor(redis: RedisClient, prefix: string, ttlMs?: number) {
    super(redis, prefix, 'application', compile(applicationStateSchema), ttlMs);
  }
}
export class RedisEventTypeCache extends RedisEntityCache<EventTypeState> {
  constructor(redis: RedisClient, prefix: string, ttlMs?: number) {
    super(redis, prefix, 'event_type', compile(eventTypeStateSchema), ttlMs);
  }
}

/**
 * Looks an entity up in the cache and falls back to the projector's read model on a miss (and fills
 * the cache from it). Undefined means the subscription never existed as far as the read model knows. The
 * projector answers only once it has applied every event written before the request (read-your-writes), so
 * the fallback is never behind the log.
 */
export class EntityDirectory<S extends EntityState> {
  constructor(
    private readonly cache: RedisEntityCache<S>,
    private readonly projectorUrl: string,
    private readonly headers: Record<string, string> = {},
    /** The projector's internal collection: /internal/<path>/<id>. */
    private readonly path = 'subscriptions',
  ) {}

  async find(id: string): Promise<Known<S> | undefined> {
    const cached = await this.cache.get(id);
    if (cached) return cached;
    return this.fromReadModel(id);
  }

  /** Asks the read model, bypassing the cache, and makes the cache agree with its answer. */
  async fromReadModel(id: string): Promise<Known<S> | undefined> {
    // (the projector waits up to HOOKPOST_READ_WAIT_MS, 5 s by default, for the log before it answers)
    const response = await fetch(`${this.projectorUrl}/internal/${this.path}/${encodeURIComponent(id)}`, { headers: this.headers, signal: AbortSignal.timeout(15_000) });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`projector answered ${response.status} for ${this.path} ${id}`);
    const row = (await response.json()) as S & { deleted: boolean };
    const { deleted, ...state } = row;
    const known: Known<S> = deleted ? { id: state.id, version: state.version, deleted: true } : (state as unknown as S);
    await this.cache.put(known, true);
    return known;
  }
}

export class SubscriptionDirectory extends EntityDirectory<SubscriptionState> {}
