import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { makeEvent, type HookpostEvent } from '@hookpost/contracts';
import { createPool, migrate } from '../src/adapters/pgPool';
import { PgProjectionWriter } from '../src/adapters/pgProjectionWriter';
import { projectorPayloadKeyring } from '../src/adapters/pgPayloadKeyStore';
import { SecretBox } from '@hookpost/platform';
import { PgReadQueries } from '../src/adapters/pgReadQueries';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_od_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let pool: Pool;

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  pool = createPool(DATABASE_URL, schema);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

const at = '2026-03-01T00:00:00.000Z';
const deps = { now: () => new Date(at), newId: randomUUID };
const subscriptionId = '11111111-1111-4111-8111-111111111111';

function delivery(id: string, options: { retryAt?: string; attempts?: number; received?: boolean; ended?: boolean }): HookpostEvent[] {
  const ref = { delivery_id: id, subscription_id: subscriptionId, event_type: 'a.b', received_at: at };
  const attempts = options.attempts ?? 1;
  const outcome = { ...ref, attempt_count: attempts, last_status_code: 500, last_error: 'HTTP 500' };
  return [
    ...(options.received === false ? [] : [makeEvent('WebhookReceived', { ...ref, payload: { id } }, deps)]),
    ...(options.retryAt ? [makeEvent('DeliveryRetryScheduled', { ...outcome, next_attempt_at: options.retryAt, delay_ms: 1 }, deps)] : []),
    ...(options.ended ? [makeEvent('DeliverySucceeded', { ...outcome, attempt_count: attempts + 1, last_status_code: 200, last_error: null, delivered_at: at }, deps)] : []),
  ];
}

describe('PgReadQueries.overdueRetries', () => {
  it('finds the retrying deliveries due before a time, with what a job needs, a page at a time', async () => {
    // Given deliveries in every situation
    const ids = Array.from({ length: 6 }, () => randomUUID()).sort();
    const [overdueA, overdueB, notYetDue, ended, notReceived, overdueC] = ids as [string, string, string, string, string, string];
    const events = [
      ...delivery(overdueA, { retryAt: '2026-03-01T00:00:05.000Z' }),
      ...delivery(overdueB, { retryAt: '2026-03-01T00:00:30.000Z', attempts: 3 }),
      ...delivery(notYetDue, { retryAt: '2026-03-01T01:00:00.000Z' }),
      ...delivery(ended, { retryAt: '2026-03-01T00:00:05.000Z', ended: true }),
      ...delivery(notReceived, { retryAt: '2026-03-01T00:00:05.000Z', received: false }),
      ...delivery(overdueC, { retryAt: '2026-03-01T00:00:05.000Z', attempts: 2 }),
    ];
    await new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0)).applyBatch({ topic: 't', partition: 0, messages: events.map((event, n) => ({ offset: String(n), event })) });
    const queries = new PgReadQueries(pool);

    // When the reconciler asks for retries due before 00:01
    const dueBefore = '2026-03-01T00:01:00.000Z';
    const first = await queries.overdueRetries({ dueBefore, limit: 2 });
    const second = await queries.overdueRetries({ dueBefore, limit: 2, afterId: String(first[1]!.id) });

    // Then it gets the three overdue ones, in id order, and nothing else
    expect([...first, ...second].map((row) => row.id)).toEqual([overdueA, overdueB, overdueC]);
    expect(first[1]).toEqual({
      id: overdueB,
      subscription_id: subscriptionId,
      // (a seed ingest's delivery is not a message's fan-out)
      message_id: null,
      event_type: 'a.b',
      payload: { id: overdueB },
      // (a plain payload, from before retention: kept)
      payload_expires_at: null,
      created_at: at,
      attempt_count: 3,
      next_attempt_at: '2026-03-01T00:00:30.000Z',
      last_status_code: 500,
      last_error: 'HTTP 500',
    });
  });

  it('finds pending deliveries whose first attempt was deferred (only RabbitMQ holds those), not those Kafka still holds', async () => {
    // Given a first attempt deferred long ago, one deferred until later, one deferred and since attempted,
    // and one that is simply pending
    const [deferredLongAgo, deferredUntilLater, deferredThenAttempted, justPending] = Array.from({ length: 4 }, () => randomUUID()).sort() as [string, string, string, string];
    const ref = (id: string) => ({ delivery_id: id, subscription_id: subscriptionId, event_type: 'a.b', received_at: at });
    const deferral = (id: string, until: string) =>
      makeEvent('DeliveryDeferred', { ...ref(id), attempt_count: 0, last_status_code: null, last_error: null, attempt_number: 1, next_attempt_at: until, reason: 'endpoint busy' }, deps);
    const events = [
      ...[deferredLongAgo, deferredUntilLater, deferredThenAttempted, justPending].map((id) => makeEvent('WebhookReceived', { ...ref(id), payload: { id } }, deps)),
      deferral(deferredLongAgo, '2026-03-01T00:00:01.000Z'),
      deferral(deferredUntilLater, '2026-03-01T00:00:01.000Z'),
      deferral(deferredUntilLater, '2026-03-01T02:00:00.000Z'),
      deferral(deferredThenAttempted, '2026-03-01T00:00:01.000Z'),
      makeEvent('DeliveryRetryScheduled', { ...ref(deferredThenAttempted), attempt_count: 1, last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: '2026-03-01T03:00:00.000Z', delay_ms: 1 }, deps),
    ];
    await new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0)).applyBatch({ topic: 't2', partition: 0, messages: events.map((event, n) => ({ offset: String(n), event })) });

    // When the reconciler asks for what was due before 00:01
    const rows = await new PgReadQueries(pool).overdueRetries({ dueBefore: '2026-03-01T00:01:00.000Z', limit: 200 });

    // Then it gets the first attempt deferred long ago (attempt_count 0: the job is attempt 1), and nothing else of these
    const ours = rows.filter((row) => [deferredLongAgo, deferredUntilLater, deferredThenAttempted, justPending].includes(String(row.id)));
    expect(ours).toEqual([
      expect.objectContaining({ id: deferredLongAgo, attempt_count: 0, next_attempt_at: '2026-03-01T00:00:01.000Z', last_status_code: null, last_error: null }),
    ]);
  });
});
