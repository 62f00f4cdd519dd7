import type { createClient } from 'redis';
import type { SubscriptionState } from '@hookpost/contracts';

export type RedisClient = ReturnType<typeof createClient>;

/** What the services know of a subscription: its state, or that it was deleted at some version. */
export type KnownSubscription = SubscriptionState | { id: string; version: number; deleted: true };

export function isDeleted(known: KnownSubscription): known is { id: string; version: number; deleted: true } {
  return 'deleted' in known && known.deleted === true;
}

// Writes only if the stored entry is older, so the gateway (after Kafka's ack) and the projector (after its
// commit) can both keep the cache in step without an older version overwriting a newer one.
const PUT_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = cjson.decode(current)
  if tonumber(stored.version) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/** The subscription cache in Redis. */
export class RedisSubscriptionCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}subscription:${id}`;
  }

  async get(id: string): Promise<KnownSubscription | undefined> {
    const text = await this.redis.get(this.key(id));
    return text ? (JSON.parse(text) as KnownSubscription) : undefined;
  }

  async put(known: KnownSubscription): Promise<void> {
    await this.redis.eval(PUT_IF_NEWER, { keys: [this.key(known.id)], arguments: [JSON.stringify(known), String(known.version)] });
  }
}

/**
 * Looks a subscription up in the cache and falls back to the projector's read model on a miss (and fills
 * the cache from it). Undefined means the subscription never existed as far as the read model knows.
 */
export class SubscriptionDirectory {
  constructor(
    private readonly cache: RedisSubscriptionCache,
    private readonly projectorUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async find(id: string): Promise<KnownSubscription | undefined> {
    const cached = await this.cache.get(id);
    if (cached) return cached;
    const response = await fetch(`${this.projectorUrl}/internal/subscriptions/${encodeURIComponent(id)}`, { headers: this.headers });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`projector answered ${response.status} for subscription ${id}`);
    const row = (await response.json()) as SubscriptionState & { deleted: boolean };
    const { deleted, ...state } = row;
    const known: KnownSubscription = deleted ? { id: state.id, version: state.version, deleted: true } : state;
    await this.cache.put(known);
    return known;
  }
}
