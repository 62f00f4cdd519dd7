import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool, migrate } from '../src/adapters/pgPool';
import { OLDEST_UNFINISHED_DELIVERY_AGE_SQL, PgReadQueries } from '../src/adapters/pgReadQueries';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_age_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let pool: Pool;
let queries: PgReadQueries;

async function insert(status: string, minutesAgo: number): Promise<void> {
  await pool.query(
    `INSERT INTO webhook_deliveries (id, subscription_id, event_type, payload, status, state_seq, attempt_count, created_at, updated_at)
     VALUES ($1, $2, 'a.b', '{}', $3, 1, 0, now() - make_interval(mins => $4), now())`,
    [randomUUID(), randomUUID(), status, minutesAgo],
  );
}

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  pool = createPool(DATABASE_URL, schema);
  queries = new PgReadQueries(pool);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

describe('oldestUnfinishedDeliveryAgeSeconds (hookpost_oldest_unfinished_delivery_age_seconds)', () => {
  it('is 0 with no delivery, then the age of the oldest pending or retrying one, ignoring finished ones', async () => {
    // Given no deliveries
    expect(await queries.oldestUnfinishedDeliveryAgeSeconds()).toBe(0);

    // Given finished deliveries only, however old
    for (const status of ['succeeded', 'failed', 'cancelled']) await insert(status, 600);
    expect(await queries.oldestUnfinishedDeliveryAgeSeconds()).toBe(0);

    // Given a pending one 10 minutes old: about 600 s
    await insert('pending', 10);
    expect(await queries.oldestUnfinishedDeliveryAgeSeconds()).toBeGreaterThanOrEqual(600);
    expect(await queries.oldestUnfinishedDeliveryAgeSeconds()).toBeLessThan(660);

    // Given also a retrying one 30 minutes old: that one counts
    await insert('retrying', 30);
    const age = await queries.oldestUnfinishedDeliveryAgeSeconds();
    expect(age).toBeGreaterThanOrEqual(1_800);
    expect(age).toBeLessThan(1_860);

    // Given also a retrying one an hour old but held (its endpoint paused): waiting on purpose, not counted
    await pool.query(
      `INSERT INTO webhook_deliveries (id, subscription_id, event_type, payload, status, state_seq, attempt_count, created_at, updated_at, hold_seq, held_at)
       VALUES ($1, $2, 'a.b', '{}', 'retrying', 2, 1, now() - interval '60 minutes', now(), 2, now())`,
      [randomUUID(), randomUUID()],
    );
    expect(await queries.oldestUnfinishedDeliveryAgeSeconds()).toBeLessThan(1_860);
  });

  it('is answered from the (status, created_at) index, not a scan of the table', async () => {
    await pool.query(`
      INSERT INTO webhook_deliveries (id, subscription_id, event_type, payload, status, state_seq, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), gen_random_uuid(), 'bulk', '{}', CASE WHEN n % 100 = 0 THEN 'retrying' ELSE 'succeeded' END, 3, 1,
             now() - make_interval(secs => n), now()
      FROM generate_series(1, 20000) AS n`);
    await pool.query('ANALYZE webhook_deliveries');
    const plan = await pool.query(`EXPLAIN ${OLDEST_UNFINISHED_DELIVERY_AGE_SQL}`);
    const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toContain('webhook_deliveries_status_created_idx');
    expect(text).toContain('Limit');
    expect(text).not.toContain('Seq Scan');
  });
});
