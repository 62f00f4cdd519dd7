import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  deliveryPosition,
  deliveryStatuses,
  isHeld,
  makeEvent,
  supersedes,
  supersedesSql,
  type DeliveryPosition,
  type HookpostEvent,
} from '@hookpost/contracts';
import { createPool, migrate } from '../src/adapters/pgPool';
import { PgProjectionWriter } from '../src/adapters/pgProjectionWriter';
import { projectorPayloadKeyring } from '../src/adapters/pgPayloadKeyStore';
import { SecretBox } from '@hookpost/platform';
import { DELIVERY_HELD } from '../src/adapters/pgReadQueries';
import { projectEvents } from '../src/projection/readModelChanges';

// The delivery state machine lives in @hookpost/contracts; these run its SQL side in PostgreSQL and hold it
// to the TypeScript side, pair by pair.

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_sm_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let pool: Pool;

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  pool = createPool(DATABASE_URL, schema);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

describe('the delivery state machine in PostgreSQL', () => {
  it('gives the same precedence in SQL as in TypeScript, for every pair of states', async () => {
    const positions: DeliveryPosition[] = deliveryStatuses.flatMap((status) => [0, 1, 2, 4].map((attempts) => deliveryPosition(status, attempts)));
    const pairs = positions.flatMap((current) => positions.map((incoming) => ({ current, incoming })));
    const expression = supersedesSql({ status: 'c.status', seq: 'c.seq' }, { seq: 'i.seq' });
    const result = await pool.query<{ n: number; takes: boolean }>(
      `SELECT p.n, ${expression} AS takes
       FROM json_to_recordset($1::json) AS p(n int, current_status text, current_seq int, incoming_status text, incoming_seq int)
       CROSS JOIN LATERAL (SELECT p.current_status AS status, p.current_seq AS seq) AS c
       CROSS JOIN LATERAL (SELECT p.incoming_status AS status, p.incoming_seq AS seq) AS i
       ORDER BY p.n`,
      [JSON.stringify(pairs.map(({ current, incoming }, n) => ({ n, current_status: current.status, current_seq: current.seq, incoming_status: incoming.status, incoming_seq: incoming.seq })))],
    );
    expect(result.rows).toHaveLength(pairs.length);
    const disagreements = pairs.filter(({ current, incoming }, n) => result.rows[n]!.takes !== supersedes(current, incoming));
    expect(disagreements).toEqual([]);
    // Both outcomes occur, so the comparison means something.
    expect(new Set(result.rows.map((row) => row.takes))).toEqual(new Set([true, false]));
  });

  it('has a CHECK constraint that allows exactly the statuses', async () => {
    const result = await pool.query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
       WHERE conrelid = 'webhook_deliveries'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'`,
    );
    expect(result.rows).toHaveLength(1);
    const allowed = [...result.rows[0]!.definition.matchAll(/'([^']*)'/g)].map((match) => match[1]);
    expect(allowed.sort()).toEqual([...deliveryStatuses].sort());
  });

  it('projects every pair of a delivery’s events to the same row, in one batch (TypeScript) or two (SQL), in either order', async () => {
    const writer = new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0));
    let offset = 0;
    const at = '2026-03-01T00:00:00.000Z';
    const deps = { now: () => new Date(at), newId: randomUUID };
    const history = (deliveryId: string): HookpostEvent[] => {
      const ref = { delivery_id: deliveryId, subscription_id: '11111111-1111-4111-8111-111111111111', event_type: 'a.b', received_at: at };
      const outcome = (attempt_count: number, last_status_code: number) => ({ ...ref, attempt_count, last_status_code, last_error: last_status_code === 200 ? null : `HTTP ${last_status_code}` });
      return [
        makeEvent('WebhookReceived', { ...ref, payload: { n: 1 } }, deps),
        makeEvent('DeliveryRetryScheduled', { ...outcome(1, 500), next_attempt_at: '2026-03-01T00:00:05.000Z', delay_ms: 5_000 }, deps),
        makeEvent('DeliveryRetryScheduled', { ...outcome(2, 503), next_attempt_at: '2026-03-01T00:05:00.000Z', delay_ms: 300_000 }, deps),
        makeEvent('DeliverySucceeded', { ...outcome(3, 200), delivered_at: at }, deps),
        makeEvent('DeliveryFailed', { ...outcome(3, 500), reason: 'gave up' }, deps),
        makeEvent('DeliveryCancelled', { ...outcome(2, 503), reason: 'subscription deleted' }, deps),
        // deferrals (an endpoint without a free slot): of the first attempt, and of the third, twice
        makeEvent('DeliveryDeferred', { ...ref, attempt_count: 0, last_status_code: null, last_error: null, attempt_number: 1, next_attempt_at: '2026-03-01T00:00:01.000Z', reason: 'endpoint busy' }, deps),
        makeEvent('DeliveryDeferred', { ...outcome(2, 503), attempt_number: 3, next_attempt_at: '2026-03-01T00:05:01.000Z', reason: 'endpoint busy' }, deps),
        makeEvent('DeliveryDeferred', { ...outcome(2, 503), attempt_number: 3, next_attempt_at: '2026-03-01T00:05:03.000Z', reason: 'endpoint busy' }, deps),
        // holds (a paused endpoint): of the first attempt, released, held again; and of the third attempt
        makeEvent('DeliveryHeld', { ...ref, attempt_count: 0, last_status_code: null, last_error: null, attempt_number: 1, held_at: '2026-03-01T00:00:02.000Z', reason: 'paused' }, deps),
        makeEvent('DeliveryReleased', { ...ref, attempt_count: 0, last_status_code: null, last_error: null, attempt_number: 1, held_at: '2026-03-01T00:00:02.000Z', next_attempt_at: '2026-03-01T00:00:04.000Z', released_at: '2026-03-01T00:00:04.000Z' }, deps),
        makeEvent('DeliveryHeld', { ...ref, attempt_count: 0, last_status_code: null, last_error: null, attempt_number: 1, held_at: '2026-03-01T00:00:06.000Z', reason: 'paused' }, deps),
        makeEvent('DeliveryHeld', { ...outcome(2, 503), attempt_number: 3, held_at: '2026-03-01T00:05:02.000Z', reason: 'paused' }, deps),
      ];
    };
    const kinds = history(randomUUID()).length;
    const cases: { id: string; first: HookpostEvent; second: HookpostEvent }[] = [];
    for (let a = 0; a < kinds; a += 1) {
      for (let b = 0; b < kinds; b += 1) {
        if (a === b) continue;
        const id = randomUUID();
        const events = history(id);
        cases.push({ id, first: events[a]!, second: events[b]! });
      }
    }
    const write = (events: HookpostEvent[]) => writer.applyBatch({ topic: 'pairs', partition: 0, messages: events.map((event) => ({ offset: String(offset++), event })) });
    await write(cases.map((c) => c.first));
    await write(cases.map((c) => c.second));

    const stored = await pool.query<{ id: string; status: string; state_seq: number; attempt_count: number; next_attempt_at: Date | null; last_status_code: number | null; held: boolean }>(
      `SELECT id, status, state_seq, attempt_count, next_attempt_at, last_status_code, ${DELIVERY_HELD} AS held FROM webhook_deliveries d WHERE id = ANY($1::uuid[])`,
      [cases.map((c) => c.id)],
    );
    const byId = new Map(stored.rows.map((row) => [row.id, row]));
    const disagreements = cases.flatMap(({ id, first, second }) => {
      const expected = projectEvents([first, second]).deliveries.get(id)!.state;
      const row = byId.get(id)!;
      const actual = { status: row.status, seq: row.state_seq, attempt_count: row.attempt_count, next_attempt_at: row.next_attempt_at?.toISOString() ?? null, last_status_code: row.last_status_code, held: row.held };
      const want = {
        status: expected.status,
        seq: expected.seq,
        attempt_count: expected.attempt_count,
        next_attempt_at: expected.next_attempt_at,
        last_status_code: expected.last_status_code,
        held: isHeld(expected, expected.hold, expected.release),
      };
      return JSON.stringify(actual) === JSON.stringify(want) ? [] : [{ first: first.type, second: second.type, actual, want }];
    });
    expect(disagreements).toEqual([]);
    // Holding and not holding both occur, so the comparison means something.
    expect(new Set(stored.rows.map((row) => row.held))).toEqual(new Set([true, false]));
  });

  it('projects every pair of a background task’s events to the same row, in one batch or two, in either order', async () => {
    const writer = new PgProjectionWriter(pool, projectorPayloadKeyring(pool, new SecretBox([{ id: 'test', key: randomBytes(32) }]), 0));
    let offset = 0;
    const app = randomUUID();
    const deps = { now: () => new Date('2026-03-01T00:00:00.000Z'), newId: randomUUID };
    const history = (task: string): HookpostEvent[] => [
      makeEvent(
        'RedeliveryRequested',
        { request_id: task, kind: 'replay_log', app_id: app, subscription_id: randomUUID(), message_id: null, since: null, until: null, event_types: ['a.b'], channel: 'eu', requested_at: '2026-03-01T00:00:00.000Z' },
        deps,
      ),
      makeEvent('BackgroundTaskProgressed', { task_id: task, app_id: app, checkpoint: 0, messages_scanned: 0, messages_sent: 0, progress: 0, position: 'p0', progressed_at: '2026-03-01T00:00:01.000Z' }, deps),
      makeEvent('BackgroundTaskProgressed', { task_id: task, app_id: app, checkpoint: 3, messages_scanned: 30, messages_sent: 20, progress: 0.5, position: 'p3', progressed_at: '2026-03-01T00:00:03.000Z' }, deps),
      makeEvent('BackgroundTaskCancelled', { task_id: task, app_id: app, cancelled_at: '2026-03-01T00:00:04.000Z' }, deps),
      makeEvent('BackgroundTaskFinished', { task_id: task, app_id: app, outcome: 'finished', messages_scanned: 60, messages_sent: 40, reason: null, finished_at: '2026-03-01T00:00:05.000Z' }, deps),
      makeEvent('BackgroundTaskFinished', { task_id: task, app_id: app, outcome: 'cancelled', messages_scanned: 35, messages_sent: 25, reason: 'cancelled', finished_at: '2026-03-01T00:00:06.000Z' }, deps),
      makeEvent('BackgroundTaskFinished', { task_id: task, app_id: app, outcome: 'failed', messages_scanned: 35, messages_sent: 25, reason: 'the endpoint is deleted', finished_at: '2026-03-01T00:00:07.000Z' }, deps),
    ];
    const kinds = history(randomUUID()).length;
    const cases: { id: string; first: HookpostEvent; second: HookpostEvent }[] = [];
    for (let a = 0; a < kinds; a += 1) {
      for (let b = 0; b < kinds; b += 1) {
        if (a === b) continue;
        const id = randomUUID();
        const events = history(id);
        cases.push({ id, first: events[a]!, second: events[b]! });
      }
    }
    const write = (events: HookpostEvent[]) => writer.applyBatch({ topic: 'task-pairs', partition: 0, messages: events.map((event) => ({ offset: String(offset++), event })) });
    await write(cases.map((c) => c.first));
    await write(cases.map((c) => c.second));
    const stored = await pool.query('SELECT id, kind, status, messages_scanned, messages_sent, checkpoint, position, progress, reason, finished_at FROM background_tasks WHERE id = ANY($1::uuid[])', [
      cases.map((c) => c.id),
    ]);
    const byId = new Map(stored.rows.map((row) => [row.id as string, row]));
    const disagreements = cases.flatMap(({ id, first, second }) => {
      const expected = projectEvents([first, second]).tasks.get(id)!;
      const row = byId.get(id)!;
      const actual = {
        kind: row.kind,
        status: row.status,
        scanned: Number(row.messages_scanned),
        sent: Number(row.messages_sent),
        checkpoint: row.checkpoint,
        position: row.position,
        progress: row.progress,
        reason: row.reason,
        finished_at: (row.finished_at as Date | null)?.toISOString() ?? null,
      };
      const want = {
        kind: expected.request?.kind ?? null,
        status: expected.status,
        scanned: expected.messages_scanned,
        sent: expected.messages_sent,
        checkpoint: expected.checkpoint?.number ?? null,
        position: expected.checkpoint?.position ?? null,
        progress: expected.checkpoint?.progress ?? null,
        reason: expected.reason,
        finished_at: expected.finished_at,
      };
      return JSON.stringify(actual) === JSON.stringify(want) ? [] : [{ first: first.type, second: second.type, actual, want }];
    });
    expect(disagreements).toEqual([]);
  });
});
