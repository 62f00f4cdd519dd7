import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { makeEvent, type DeliveryRowChange, type HookpostEvent, type SubscriptionState } from '@hookpost/contracts';
import { createPool, migrate } from '../src/adapters/pgPool';
import { PgProjectionWriter } from '../src/adapters/pgProjectionWriter';
import { projectorPayloadKeyring } from '../src/adapters/pgPayloadKeyStore';
import { SecretBox } from '@hookpost/platform';
import { PgReadQueries, decodeCursor } from '../src/adapters/pgReadQueries';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let pool: Pool;
let writer: PgProjectionWriter;
let queries: PgReadQueries;

let clock = Date.parse('2026-03-01T00:00:00Z');
const deps = { now: () => new Date((clock += 1_000)), newId: randomUUID };

function subscriptionState(name: string, description: string | null = null): SubscriptionState {
  const at = new Date(clock).toISOString();
  return {
    id: randomUUID(), version: 1, name, description, target_url: 'https://example.com/hook', is_active: true, event_types: null,
    secret: 'sealed:v1:k:abc', max_attempts: null, timeout_ms: null, created_at: at, updated_at: at,
  };
}

function received(subscriptionId: string, eventType: string, payload: Record<string, unknown>) {
  return makeEvent('WebhookReceived', { delivery_id: randomUUID(), subscription_id: subscriptionId, event_type: eventType, payload, received_at: deps.now().toISOString() }, deps);
}

let offsets = new Map<string, number>();
function batch(topic: string, events: HookpostEvent[]) {
  const start = offsets.get(topic) ?? 0;
  offsets.set(topic, start + events.length);
  return { topic, partition: 0, messages: events.map((event, index) => ({ offset: String(start + index), event })) };
}

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  pool = createPool(DATABASE_URL, schema);
  writer = new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0));
  queries = new PgReadQueries(pool);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

describe('PgProjectionWriter', () => {
  it('applies a batch once: a redelivered batch (same offsets) changes nothing', async () => {
    const subscription = subscriptionState('orders');
    const first = batch('subs', [makeEvent('SubscriptionCreated', subscription, deps)]);
    expect((await writer.applyBatch(first)).applied).toBe(1);
    expect(await writer.applyBatch(first)).toMatchObject({ applied: 0, skipped: 1 });

    const event = received(subscription.id, 'order.created', { order: { id: 1 } });
    const attempt = makeEvent(
      'DeliveryAttempted',
      {
        delivery_id: event.data.delivery_id, subscription_id: subscription.id, event_type: 'order.created', received_at: event.data.received_at,
        attempt_number: 1, status_code: 200, duration_ms: 3, error: null, response_headers: { 'content-type': 'text/plain' }, response_body: 'ok',
        started_at: event.data.received_at,
      },
      deps,
    );
    const succeeded = makeEvent(
      'DeliverySucceeded',
      { delivery_id: event.data.delivery_id, subscription_id: subscription.id, event_type: 'order.created', received_at: event.data.received_at, attempt_count: 1, last_status_code: 200, last_error: null, delivered_at: event.data.received_at },
      deps,
    );
    // The outcome arrives before the received event (another topic): the row merges, status stays final.
    const outcomes = batch('deliveries', [attempt, succeeded]);
    await writer.applyBatch(outcomes);
    expect(await queries.getDelivery(event.data.delivery_id)).toBeUndefined();
    await writer.applyBatch(batch('webhooks', [event]));
    await writer.applyBatch(outcomes);

    const delivery = await queries.getDelivery(event.data.delivery_id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempt_count: 1, payload: { order: { id: 1 } }, last_status_code: 200 });
    const attempts = await queries.listAttempts(event.data.delivery_id);
    expect(attempts).toEqual([expect.objectContaining({ attempt_number: 1, status_code: 200, response_body: 'ok', response_headers: { 'content-type': 'text/plain' } })]);
  });

  it('writes a batch of delivery events by one statement, tells the live view the row it changed, and skips it when it comes again', async () => {
    // Given a writer whose live view is watched, and a delivery received (the partition's first batch)
    const published: DeliveryRowChange[] = [];
    const watched = new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0), {
      watched: () => true,
      publish: (deliveries) => published.push(...deliveries),
    });
    const subscription = subscriptionState('live');
    const event = received(subscription.id, 'order.created', { order: { id: 2 } });
    const ref = { delivery_id: event.data.delivery_id, subscription_id: subscription.id, event_type: 'order.created', received_at: event.data.received_at };
    const attempt = makeEvent('DeliveryAttempted', { ...ref, attempt_number: 1, status_code: 200, duration_ms: 3, error: null, response_headers: null, response_body: 'ok', started_at: ref.received_at }, deps);
    const succeeded = makeEvent('DeliverySucceeded', { ...ref, attempt_count: 1, last_status_code: 200, last_error: null, delivered_at: ref.received_at }, deps);
    const topic = `live-${randomUUID()}`;
    const at = (offset: number, events: HookpostEvent[]) => ({ topic, partition: 0, messages: events.map((each, index) => ({ offset: String(offset + index), event: each })) });
    expect(await watched.applyBatch(at(0, [event]))).toMatchObject({ applied: 1, rows: 1 });
    // When its attempt and outcome come in the next batch
    const outcome = at(1, [attempt, succeeded]);
    expect(await watched.applyBatch(outcome)).toMatchObject({ applied: 2, skipped: 0, rows: 2 });
    // Then its row and its attempt are written, and the live view hears of the delivery as it ended
    expect(published.at(-1)).toEqual(expect.objectContaining({ id: event.data.delivery_id, status: 'succeeded', attempt_count: 1, last_status_code: 200 }));
    expect(await queries.getDelivery(event.data.delivery_id)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
    expect(await queries.listAttempts(event.data.delivery_id)).toEqual([expect.objectContaining({ attempt_number: 1, status_code: 200, response_body: 'ok' })]);
    // And the batch again changes nothing; one overlapping it applies only what is new
    expect(await watched.applyBatch(outcome)).toMatchObject({ applied: 0, skipped: 2 });
    const failedLater = makeEvent('DeliveryFailed', { ...ref, attempt_count: 1, last_status_code: 200, last_error: null, reason: 'late' }, deps);
    expect(await watched.applyBatch(at(2, [succeeded, failedLater]))).toMatchObject({ applied: 1, skipped: 1 });
    const stored = await pool.query('SELECT next_offset FROM projector_offsets WHERE topic = $1 AND partition = 0', [topic]);
    expect(stored.rows).toEqual([{ next_offset: '4' }]);
  });

  it('applies only the new part of a batch that overlaps one applied before, and never moves the offset back', async () => {
    // Given offsets 0-2 of a partition applied
    const topic = `overlap-${randomUUID()}`;
    const events = [0, 1, 2, 3, 4].map((n) => makeEvent('SubscriptionCreated', subscriptionState(`overlap ${n}`), deps));
    const at = (from: number, to: number) => ({ topic, partition: 0, messages: events.slice(from, to).map((event, index) => ({ offset: String(from + index), event })) });
    expect(await writer.applyBatch(at(0, 3))).toMatchObject({ applied: 3, skipped: 0 });
    // When offsets 1-4 come (a redelivery after a rebalance), then 0-1 again
    expect(await writer.applyBatch(at(1, 5))).toMatchObject({ applied: 2, skipped: 2 });
    expect(await writer.applyBatch(at(0, 2))).toMatchObject({ applied: 0, skipped: 2 });
    // Then the partition resumes after offset 4
    const stored = await pool.query('SELECT next_offset FROM projector_offsets WHERE topic = $1 AND partition = 0', [topic]);
    expect(stored.rows).toEqual([{ next_offset: '5' }]);
  });
});

describe('PgReadQueries', () => {
  let subscriptionId: string;
  const ids: string[] = [];

  beforeAll(async () => {
    const subscription = subscriptionState('billing webhooks', 'Invoices and payments for the finance team');
    subscriptionId = subscription.id;
    const others = [subscriptionState('shipping'), subscriptionState('Billing backup')];
    await writer.applyBatch(batch('subs', [subscription, ...others].map((state) => makeEvent('SubscriptionCreated', state, deps))));
    const events = [
      received(subscriptionId, 'invoice.paid', { customer: { id: 'c1', tier: 'gold' }, amount: 10 }),
      received(subscriptionId, 'invoice.paid', { customer: { id: 'c2', tier: 'silver' }, amount: 20 }),
      received(subscriptionId, 'invoice.voided', { customer: { id: 'c1', tier: 'gold' }, amount: 30 }),
    ];
    ids.push(...events.map((event) => event.data.delivery_id));
    await writer.applyBatch(batch('webhooks', events));
  });

  it('filters deliveries by subscription, event type, payload containment and time, newest first', async () => {
    const all = await queries.searchDeliveries({ subscription_id: subscriptionId, limit: 10 });
    expect(all.data.map((d) => d.id)).toEqual([...ids].reverse());
    const paid = await queries.searchDeliveries({ event_type: 'invoice.paid', subscription_id: subscriptionId, limit: 10 });
    expect(paid.data).toHaveLength(2);
    const gold = await queries.searchDeliveries({ payload_contains: { customer: { tier: 'gold' } }, limit: 10 });
    expect(gold.data.map((d) => d.id)).toEqual([ids[2], ids[0]]);
    const pending = await queries.searchDeliveries({ status: 'pending', subscription_id: subscriptionId, limit: 10 });
    expect(pending.data).toHaveLength(3);
    const firstAt = String(all.data[2]!.created_at);
    const after = await queries.searchDeliveries({ subscription_id: subscriptionId, created_after: new Date(Date.parse(firstAt) + 1).toISOString(), limit: 10 });
    expect(after.data).toHaveLength(2);
  });

  it('pages with an opaque cursor without gaps or repeats', async () => {
    const first = await queries.searchDeliveries({ subscription_id: subscriptionId, limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const second = await queries.searchDeliveries({ subscription_id: subscriptionId, limit: 2, cursor: decodeCursor(first.next_cursor!) });
    expect(second.next_cursor).toBeNull();
    expect([...first.data, ...second.data].map((d) => d.id)).toEqual([...ids].reverse());
    expect(decodeCursor('not-a-cursor')).toBeUndefined();
  });

  it('searches subscriptions by full text over name and description, safely for any input', async () => {
    const billing = await queries.listSubscriptions({ q: 'billing', limit: 10 });
    expect(billing.data.map((s) => s.name).sort()).toEqual(['Billing backup', 'billing webhooks']);
    const finance = await queries.listSubscriptions({ q: 'finance', limit: 10 });
    expect(finance.data.map((s) => s.name)).toEqual(['billing webhooks']);
    for (const q of ["'; DROP TABLE subscriptions; --", 'a & | ! ( ) : *', '"unclosed', '\\']) {
      await expect(queries.listSubscriptions({ q, limit: 10 })).resolves.toEqual(expect.objectContaining({ data: expect.any(Array) }));
    }
  });

  it('serves payload containment and full-text search from their GIN indexes', async () => {
    // Enough rows that the planner prefers the indexes on its own.
    await pool.query(`
      INSERT INTO webhook_deliveries (id, subscription_id, event_type, payload, status, state_seq, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), $1, 'bulk.event', jsonb_build_object('n', n, 'customer', jsonb_build_object('id', 'bulk' || n)), 'succeeded', 3, 1, now(), now()
      FROM generate_series(1, 20000) AS n`, [subscriptionId]);
    await pool.query(`
      INSERT INTO subscriptions (id, version, name, target_url, is_active, secret, created_at, updated_at)
      SELECT gen_random_uuid(), 1, 'bulk subscription ' || n, 'https://example.com', true, 'sealed:v1:k:x', now(), now()
      FROM generate_series(1, 30000) AS n`);
    // (payload containment is selective enough that the planner picks its index unprompted)
    await pool.query('ANALYZE webhook_deliveries; ANALYZE subscriptions');

    const payloadPlan = await pool.query(`EXPLAIN SELECT id FROM webhook_deliveries WHERE payload IS NOT NULL AND payload @> $1::jsonb`, [
      JSON.stringify({ customer: { id: 'bulk77' } }),
    ]);
    expect(payloadPlan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('webhook_deliveries_payload_idx');

    // A rare word's selectivity is estimated at 0.5 %, where a sequential scan of 30k narrow rows still wins;
    // with sequential scans priced out, the plan shows the query shape is one the GIN index serves.
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL enable_seqscan = off');
      const searchPlan = await client.query(`EXPLAIN SELECT id FROM subscriptions WHERE search_vector @@ websearch_to_tsquery('simple', $1)`, ['finance']);
      expect(searchPlan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('subscriptions_search_vector_idx');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});
