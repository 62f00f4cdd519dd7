import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { bucketFor, deriveSubjectKey, openPayload, payloadSubject, sealPayload, SecretBox, type BucketKeys } from '@hookpost/platform';
import { createPool, migrate } from '../src/adapters/pgPool';
import { PgPayloadKeyStore, sweepExpiredPayloads } from '../src/adapters/pgPayloadKeyStore';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const day = 86_400_000;
let pool: Pool;
let box: SecretBox;
let store: PgPayloadKeyStore;

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  pool = createPool(DATABASE_URL, schema);
  box = new SecretBox([{ id: 'int', key: randomBytes(32) }]);
  store = new PgPayloadKeyStore(pool, box);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

function live(keys: BucketKeys) {
  if (keys.kind !== 'live') throw new Error(`bucket is ${keys.kind}`);
  return keys.frontier;
}

describe('the payload key store in PostgreSQL', () => {
  const now = new Date();

  it('creates a bucket once, whoever asks at the same time, and every process reads the same keys', async () => {
    // Given a bucket nobody has created, and five processes (stores on the same database) asking for it at once
    const bucket = bucketFor(now, 3 * day, day);
    const stores = Array.from({ length: 5 }, () => new PgPayloadKeyStore(pool, box));
    const frontiers = (await Promise.all(stores.map((each) => each.keys(bucket.id, true, now)))).map(live);
    // Then there is one root (of a 16-ary tree), the same for all
    expect(frontiers.every((frontier) => frontier.length === 1 && frontier[0]!.prefix === 'h' && frontier[0]!.key.equals(frontiers[0]![0]!.key))).toBe(true);
    // And what one process seals, another opens
    const subject = payloadSubject('message', randomUUID());
    const sealed = sealPayload({ n: 1 }, deriveSubjectKey(frontiers[0]!, subject)!, bucket.id, subject);
    expect(openPayload(sealed, deriveSubjectKey(live(await new PgPayloadKeyStore(pool, box).keys(bucket.id, false, now)), subject)!, subject)).toEqual({ n: 1 });
  });

  it('keeps node keys sealed under the master keys: the table alone opens nothing', async () => {
    const bucket = bucketFor(now, 4 * day, day);
    const root = live(await store.keys(bucket.id, true, now))[0]!;
    const stored = await pool.query<{ sealed_key: string }>('SELECT sealed_key FROM payload_key_nodes WHERE bucket_id = $1', [bucket.id]);
    expect(stored.rows[0]!.sealed_key).toMatch(/^sealed:v2:int:/);
    expect(stored.rows[0]!.sealed_key).not.toContain(root.key.toString('base64'));
    // (another deployment's master key does not open them)
    await expect(new PgPayloadKeyStore(pool, new SecretBox([{ id: 'int', key: randomBytes(32) }])).keys(bucket.id, false, now)).rejects.toThrow();
  });

  it('forgets one message on expunge, leaving the others of its bucket readable, and only once', async () => {
    const bucket = bucketFor(now, 5 * day, day);
    const root = live(await store.keys(bucket.id, true, now));
    const [gone, kept] = [payloadSubject('message', randomUUID()), payloadSubject('message', randomUUID())];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await store.forget(client, bucket.id, gone)).toBe(true);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await store.forget(pool, bucket.id, gone)).toBe(false);
    const after = live(await store.keys(bucket.id, false, now));
    expect(deriveSubjectKey(after, gone)).toBeUndefined();
    expect(deriveSubjectKey(after, kept)!.equals(deriveSubjectKey(root, kept)!)).toBe(true);
  });

  it('lets concurrent expunges in one bucket all take effect', async () => {
    const bucket = bucketFor(now, 6 * day, day);
    const root = live(await store.keys(bucket.id, true, now));
    const subjects = Array.from({ length: 8 }, () => payloadSubject('message', randomUUID()));
    await Promise.all(
      subjects.map(async (subject) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await store.forget(client, bucket.id, subject);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }),
    );
    const after = live(await store.keys(bucket.id, false, now));
    for (const subject of subjects) expect(deriveSubjectKey(after, subject)).toBeUndefined();
    const other = payloadSubject('delivery', randomUUID());
    expect(deriveSubjectKey(after, other)!.equals(deriveSubjectKey(root, other)!)).toBe(true);
  });

  it('shreds expired buckets (keys deleted, never created again) and clears expired payloads from the read model', async () => {
    // Given a bucket that expires in a second, a payload row in it, and one in a later bucket
    const soon = bucketFor(now, 1_000, 1_000);
    const later = bucketFor(now, 7 * day, day);
    await store.keys(soon.id, true, now);
    await store.keys(later.id, true, now);
    const [expiring, kept] = [randomUUID(), randomUUID()];
    await pool.query(
      `INSERT INTO messages (id, app_id, event_type, payload, payload_expires_at, created_at) VALUES
         ($1, $3, 'a.b', '{"marker":"m1"}', $4, now()), ($2, $3, 'a.b', '{"marker":"m2"}', $5, now())`,
      [expiring, kept, randomUUID(), soon.expiresAt.toISOString(), later.expiresAt.toISOString()],
    );
    // When the sweep runs after the first bucket's time (twice, and from two processes at once)
    const at = new Date(soon.expiresAt.getTime() + 1);
    const sweeps = await Promise.all([sweepExpiredPayloads(pool, store, at), sweepExpiredPayloads(pool, new PgPayloadKeyStore(pool, box), at)]);
    expect(sweeps.flatMap((sweep) => sweep.shredded).filter((id) => id === soon.id)).toEqual([soon.id]);
    expect((await sweepExpiredPayloads(pool, store, at)).shredded).not.toContain(soon.id);
    // Then its keys are gone for good, the later bucket's are not, and only the expired payload left the read model
    expect(await store.keys(soon.id, false, at)).toEqual({ kind: 'shredded' });
    expect(await store.keys(soon.id, true, now)).toEqual({ kind: 'shredded' });
    expect((await pool.query('SELECT count(*)::int AS n FROM payload_key_nodes WHERE bucket_id = $1', [soon.id])).rows[0].n).toBe(0);
    expect((await store.keys(later.id, false, at)).kind).toBe('live');
    const rows = await pool.query<{ id: string; payload: object | null }>('SELECT id, payload FROM messages WHERE id = ANY($1::uuid[])', [[expiring, kept]]);
    expect(Object.fromEntries(rows.rows.map((row) => [row.id, row.payload]))).toEqual({ [expiring]: null, [kept]: { marker: 'm2' } });
  });

  it('never creates a bucket already past its time, and says unknown for one it never had', async () => {
    const past = bucketFor(new Date(now.getTime() - 10 * day), day, day);
    expect(await store.keys(past.id, true, now)).toEqual({ kind: 'unknown' });
    expect(await store.keys('not-a-bucket', true, now)).toEqual({ kind: 'unknown' });
  });
});

describe('retiring a master key', () => {
  it('reseals every node key under the first master key, after which the old key alone no longer matters', async () => {
    // Given buckets whose keys were sealed under an old master key
    const oldKey = { id: 'old', key: randomBytes(32) };
    const newKey = { id: 'new', key: randomBytes(32) };
    const before = new PgPayloadKeyStore(pool, new SecretBox([oldKey]));
    const now = new Date();
    const bucket = bucketFor(now, 8 * day, day);
    const root = live(await before.keys(bucket.id, true, now));
    // When the projector runs with the new key first and the old one still listed, and resealing runs
    const rotated = new PgPayloadKeyStore(pool, new SecretBox([newKey, oldKey]));
    expect(await rotated.resealStale()).toBeGreaterThanOrEqual(1);
    expect(await rotated.resealStale()).toBe(0);
    // Then the new key alone opens them, and they are the same keys
    const after = live(await new PgPayloadKeyStore(pool, new SecretBox([newKey])).keys(bucket.id, false, now));
    expect(after[0]!.key.equals(root[0]!.key)).toBe(true);
  });
});
