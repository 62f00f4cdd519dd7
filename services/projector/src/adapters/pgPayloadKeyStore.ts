import type { Pool, PoolClient } from 'pg';
import {
  newBucketFrontier,
  PayloadKeyring,
  parseBucketId,
  payloadNodeContext,
  punctureFrontier,
  type BucketKeys,
  type PayloadKeyNode,
  type PayloadSubject,
  type SecretBox,
} from '@hookpost/platform';

type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * The payload key store in PostgreSQL (durable, shared by every service through the projector's internal API;
 * see payloadKeys.ts). Node keys are stored sealed under the master keys, so a dump of the database alone
 * opens no payload. Every operation is idempotent and safe with several processes: creation is an insert
 * that loses to a concurrent one, an expunge locks its bucket row, shredding is a conditional update.
 */
export class PgPayloadKeyStore {
  constructor(
    private readonly pool: Pool,
    private readonly box: Pick<SecretBox, 'seal' | 'open'>,
  ) {}

  /**
   * The bucket's keys, creating it first when `create` and it never existed. A bucket past its expiry is
   * never created (a late writer must not resurrect a shredded one): it reads as shredded.
   */
  async keys(bucketId: string, create: boolean, now: Date): Promise<BucketKeys> {
    if (!parseBucketId(bucketId)) return { kind: 'unknown' };
    if (create) await this.ensure(bucketId, now);
    return this.read(this.pool, bucketId, false);
  }

  /** Creates the bucket with a new root key unless it exists (or existed) or is past its expiry. */
  async ensure(bucketId: string, now: Date): Promise<void> {
    const bucket = parseBucketId(bucketId);
    if (bucket && bucket.expiresAt.getTime() > now.getTime()) {
      const root = newBucketFrontier()[0]!;
      await this.pool.query(
        `WITH created AS (INSERT INTO payload_key_buckets (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id)
         INSERT INTO payload_key_nodes (bucket_id, prefix, sealed_key) SELECT id, $4, $3 FROM created`,
        [bucket.id, bucket.expiresAt.toISOString(), this.box.seal(root.key.toString('base64'), payloadNodeContext(bucket.id, root.prefix)), root.prefix],
      );
    }
  }

  /** The bucket's node keys still sealed, for the internal API (callers open them with their own master keys). */
  async sealedNodes(bucketId: string): Promise<{ kind: 'live'; nodes: { prefix: string; sealed_key: string }[] } | { kind: 'shredded' } | { kind: 'unknown' }> {
    const bucket = await this.pool.query<{ shredded_at: Date | null }>('SELECT shredded_at FROM payload_key_buckets WHERE id = $1', [bucketId]);
    if (bucket.rows.length === 0) return { kind: 'unknown' };
    if (bucket.rows[0]!.shredded_at !== null) return { kind: 'shredded' };
    const nodes = await this.pool.query<{ prefix: string; sealed_key: string }>('SELECT prefix, sealed_key FROM payload_key_nodes WHERE bucket_id = $1 ORDER BY prefix', [bucketId]);
    return { kind: 'live', nodes: nodes.rows };
  }

  /**
   * Forgets one subject's key (an expunge): true when it was covered until now. Runs on `client` (the
   * projection's transaction) with the bucket row locked, so two expunges in one bucket never undo each other.
   */
  async forget(client: Queryable, bucketId: string, subject: PayloadSubject): Promise<boolean> {
    const keys = await this.read(client, bucketId, true);
    if (keys.kind !== 'live') return false;
    const punctured = punctureFrontier(keys.frontier, subject);
    if (!punctured) return false;
    await client.query('DELETE FROM payload_key_nodes WHERE bucket_id = $1 AND prefix = $2', [bucketId, punctured.removed]);
    await client.query(
      `INSERT INTO payload_key_nodes (bucket_id, prefix, sealed_key)
       SELECT $1, prefix, sealed_key FROM json_to_recordset($2::json) AS x(prefix text, sealed_key text)`,
      [bucketId, JSON.stringify(punctured.added.map((node) => ({ prefix: node.prefix, sealed_key: this.box.seal(node.key.toString('base64'), payloadNodeContext(bucketId, node.prefix)) })))],
    );
    return true;
  }

  /**
   * Seals again, under the first master key, up to `limit` node keys sealed under another (after a master key
   * rotation, so the old key can be retired: docs/master-keys.md). Conditional on the value read, so two
   * projectors doing it at once, or an expunge in between, lose nothing. A node no configured key opens is
   * left as it is (and reported by the caller's count staying short); the others are still resealed.
   * How many it resealed.
   */
  async resealStale(limit = 1_000): Promise<number> {
    const { currentPrefix } = this.box as Pick<SecretBox, 'seal' | 'open'> & { currentPrefix?: string };
    if (currentPrefix === undefined) return 0;
    let resealed = 0;
    let after = { bucket_id: '', prefix: '' };
    while (resealed < limit) {
      const page = await this.pool.query<{ bucket_id: string; prefix: string; sealed_key: string }>(
        `SELECT bucket_id, prefix, sealed_key FROM payload_key_nodes
         WHERE left(sealed_key, $1) <> $2 AND (bucket_id, prefix) > ($3, $4) ORDER BY bucket_id, prefix LIMIT 200`,
        [currentPrefix.length, currentPrefix, after.bucket_id, after.prefix],
      );
      if (page.rows.length === 0) break;
      for (const node of page.rows) {
        after = node;
        const context = payloadNodeContext(node.bucket_id, node.prefix);
        let sealed: string;
        try {
          sealed = this.box.seal(this.box.open(node.sealed_key, context), context);
        } catch {
          continue;
        }
        const updated = await this.pool.query('UPDATE payload_key_nodes SET sealed_key = $4 WHERE bucket_id = $1 AND prefix = $2 AND sealed_key = $3', [node.bucket_id, node.prefix, node.sealed_key, sealed]);
        resealed += updated.rowCount ?? 0;
      }
    }
    return resealed;
  }

  /** Deletes the keys of every bucket expired by `now`; the ids shredded by this call. */
  async shredExpired(now: Date): Promise<string[]> {
    const shredded = await this.pool.query<{ id: string }>(
      `WITH expired AS (
         UPDATE payload_key_buckets SET shredded_at = $1 WHERE expires_at <= $1 AND shredded_at IS NULL RETURNING id
       ), deleted AS (DELETE FROM payload_key_nodes WHERE bucket_id IN (SELECT id FROM expired))
       SELECT id FROM expired`,
      [now.toISOString()],
    );
    return shredded.rows.map((row) => row.id);
  }

  private async read(client: Queryable, bucketId: string, lock: boolean): Promise<BucketKeys> {
    const bucket = await client.query<{ shredded_at: Date | null }>(`SELECT shredded_at FROM payload_key_buckets WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [bucketId]);
    if (bucket.rows.length === 0) return { kind: 'unknown' };
    if (bucket.rows[0]!.shredded_at !== null) return { kind: 'shredded' };
    const nodes = await client.query<{ prefix: string; sealed_key: string }>('SELECT prefix, sealed_key FROM payload_key_nodes WHERE bucket_id = $1', [bucketId]);
    return { kind: 'live', frontier: nodes.rows.map((node): PayloadKeyNode => ({ prefix: node.prefix, key: Buffer.from(this.box.open(node.sealed_key, payloadNodeContext(bucketId, node.prefix)), 'base64') })) };
  }
}

/** The projector's key store and its in-process keyring (the projector reads the store directly, not over HTTP). */
export function projectorPayloadKeyring(pool: Pool, box: Pick<SecretBox, 'seal' | 'open'>, cacheMs: number) {
  const store = new PgPayloadKeyStore(pool, box);
  const keyring = new PayloadKeyring({ keys: (bucketId, create) => store.keys(bucketId, create, new Date()) }, { cacheMs, now: () => new Date() });
  return { store, keyring };
}

/**
 * The retention sweep, run periodically by every projector: shreds the keys of expired buckets and removes
 * expired payloads from the read model. Every statement is conditional and idempotent, so projectors running it
 * at once only repeat each other's no-ops.
 */
export async function sweepExpiredPayloads(pool: Pool, store: Pick<PgPayloadKeyStore, 'shredExpired' | 'resealStale'>, now: Date): Promise<{ shredded: string[]; messages: number; deliveries: number; resealed: number }> {
  const shredded = await store.shredExpired(now);
  // (and keys sealed under a master key being retired are sealed again, a page per round)
  const resealed = await store.resealStale();
  const messages = await pool.query('UPDATE messages SET payload = NULL WHERE payload_expires_at <= $1 AND payload IS NOT NULL', [now.toISOString()]);
  const deliveries = await pool.query('UPDATE webhook_deliveries SET payload = NULL WHERE payload_expires_at <= $1 AND payload IS NOT NULL', [now.toISOString()]);
  return { shredded, messages: messages.rowCount ?? 0, deliveries: deliveries.rowCount ?? 0, resealed };
}
