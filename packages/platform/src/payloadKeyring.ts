import {
  bucketFor,
  decideOpen,
  deriveSubjectKey,
  sealPayload,
  sealedPayloadBucket,
  type BucketKeys,
  type OpenedPayload,
  type PayloadBucket,
  type PayloadSubject,
} from './payloadKeys';

/** Where the key store is: the projector's /internal/payload-keys (PostgreSQL behind it). */
export type PayloadKeySource = {
  /** The bucket's keys, creating the bucket when `create` and it never existed (never once shredded). */
  keys: (bucketId: string, create: boolean) => Promise<BucketKeys>;
};

/**
 * Seals and opens payloads with the keys of their retention bucket, kept in process: the gateway asks the
 * store once per bucket (not per request) and for the next bucket ahead of time; readers keep a bucket's keys
 * at most `cacheMs`, so an expunge reaches them within that (an expiry reaches them at once: decideOpen
 * refuses a bucket past its time whatever the cache holds).
 */
export class PayloadKeyring {
  private readonly cache = new Map<string, { keys: BucketKeys; until: number; pending?: Promise<BucketKeys> }>();

  constructor(
    private readonly source: PayloadKeySource,
    private readonly settings: { cacheMs: number; now: () => Date },
  ) {}

  /** Seals a payload into the bucket it expires with; the bucket after it is created ahead, off the request path. */
  async seal(payload: object, subject: PayloadSubject, receivedAt: Date, retentionMs: number, granularityMs: number): Promise<string> {
    const bucket = bucketFor(receivedAt, retentionMs, granularityMs);
    const keys = await this.keysOf(bucket.id, true, bucket.expiresAt.getTime());
    if (keys.kind !== 'live') throw new Error(`payload bucket ${bucket.id} is ${keys.kind}: cannot seal into it`);
    const key = deriveSubjectKey(keys.frontier, subject);
    if (!key) throw new Error(`payload bucket ${bucket.id} does not cover ${subject}`);
    const next = bucketFor(new Date(receivedAt.getTime() + granularityMs), retentionMs, granularityMs);
    if (!this.cache.has(next.id)) this.keysOf(next.id, true, next.expiresAt.getTime()).catch(() => this.cache.delete(next.id));
    return sealPayload(payload, key, bucket.id, subject);
  }

  /**
   * Seals a payload again into the bucket it was first sealed in (a redelivery of a message read from the
   * read model), so its job carries it sealed and ends with it. Undefined when that bucket no longer opens.
   */
  async sealInto(payload: object, subject: PayloadSubject, bucket: PayloadBucket): Promise<string | undefined> {
    if (bucket.expiresAt.getTime() <= this.settings.now().getTime()) return undefined;
    const keys = await this.keysOf(bucket.id, false, this.settings.now().getTime() + this.settings.cacheMs);
    const key = keys.kind === 'live' ? deriveSubjectKey(keys.frontier, subject) : undefined;
    return key ? sealPayload(payload, key, bucket.id, subject) : undefined;
  }

  async open(sealed: string, subject: PayloadSubject): Promise<OpenedPayload> {
    const bucket = sealedPayloadBucket(sealed);
    const now = this.settings.now();
    if (bucket.expiresAt.getTime() <= now.getTime()) return decideOpen(sealed, subject, { kind: 'shredded' }, now);
    return decideOpen(sealed, subject, await this.keysOf(bucket.id, false, now.getTime() + this.settings.cacheMs), now);
  }

  /** Forgets what is cached of a bucket (after this process changed it). */
  forget(bucketId: string): void {
    this.cache.delete(bucketId);
  }

  private async keysOf(bucketId: string, create: boolean, keepUntil: number): Promise<BucketKeys> {
    const now = this.settings.now().getTime();
    const cached = this.cache.get(bucketId);
    if (cached?.pending) return cached.pending;
    if (cached && cached.until > now) return cached.keys;
    // One request per bucket at a time, however many payloads wait for it.
    const pending = this.source.keys(bucketId, create);
    this.cache.set(bucketId, { keys: { kind: 'unknown' }, until: 0, pending });
    try {
      const keys = await pending;
      // A sealer keeps a live bucket until it expires (its root derives every key it needs, expunged or not);
      // what is not live is asked again next time.
      this.cache.set(bucketId, { keys, until: keys.kind === 'live' ? Math.min(keepUntil, Number(bucketId)) : 0 });
      this.evictExpired(now);
      return keys;
    } catch (error) {
      this.cache.delete(bucketId);
      throw error;
    }
  }

  private evictExpired(now: number): void {
    for (const [id] of this.cache) if (Number(id) <= now) this.cache.delete(id);
  }
}

/** The key store through the projector's internal API (node keys travel sealed under the master keys). */
export function projectorPayloadKeys(
  projectorUrl: string,
  headers: Record<string, string>,
  openNode: (sealed: string, bucketId: string, prefix: string) => Buffer,
  timeoutMs = 10_000,
): PayloadKeySource {
  return {
    async keys(bucketId, create) {
      const response = await fetch(`${projectorUrl}/internal/payload-keys/${encodeURIComponent(bucketId)}`, {
        method: create ? 'POST' : 'GET',
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 410) return { kind: 'shredded' };
      if (response.status === 404) return { kind: 'unknown' };
      if (!response.ok) throw new Error(`projector answered ${response.status} for payload keys of bucket ${bucketId}`);
      const body = (await response.json()) as { nodes: { prefix: string; sealed_key: string }[] };
      return { kind: 'live', frontier: body.nodes.map((node) => ({ prefix: node.prefix, key: openNode(node.sealed_key, bucketId, node.prefix) })) };
    },
  };
}
