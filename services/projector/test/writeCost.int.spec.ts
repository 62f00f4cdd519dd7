import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { makeEvent, type HookpostEvent } from '@hookpost/contracts';
import { payloadSubject, SecretBox } from '@hookpost/platform';
import { createPool, migrate } from '../src/adapters/pgPool';
import { PgProjectionWriter, type PartitionBatch } from '../src/adapters/pgProjectionWriter';
import { projectorPayloadKeyring } from '../src/adapters/pgPayloadKeyStore';
import { PgReadQueries } from '../src/adapters/pgReadQueries';

/**
 * What the projector makes PostgreSQL do per delivered webhook (issue #17, docs/performance.md "Projector write
 * cost per webhook"): statements, rows written, HOT updates, index growth and WAL, counted rather than timed so
 * that the figures do not depend on what else the machine is doing. Each scenario drives the events of N webhooks
 * delivered at the first attempt through the projector's own writer, as its consumer would hand them over:
 *  - seed: WebhookReceived (webhooks topic), then DeliveryAttempted + DeliverySucceeded (deliveries topic);
 *  - svix: MessageCreated (webhooks), MessageRouted to one endpoint, then the attempt and its outcome (deliveries);
 * each either one webhook per batch (light load: every event its own transaction) or 50 webhooks per batch (load).
 * Payloads are sealed, as the gateway writes them by default.
 *
 * WAL is the growth of the server's WAL position around a run, the least of three runs: on a server other tests
 * write to at the same time it is an upper bound. Every other figure is this schema's own. Set
 * HOOKPOST_WRITE_COST_REPORT=1 to print the tables.
 */

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';
const schema = `int_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const box = new SecretBox([{ id: 'int', key: randomBytes(32) }]);
const RETENTION_MS = 90 * 86_400_000;
const BUCKET_MS = 86_400_000;
const REPEATS = 3;
const WRITTEN_TABLES = ['webhook_deliveries', 'delivery_attempts', 'messages', 'projector_offsets'] as const;

let admin: Pool;
const subscriptionId = randomUUID();
const appId = randomUUID();
let clock = Date.now();
const deps = { now: () => new Date((clock += 1)), newId: randomUUID };
// A payload the size and shape of a typical webhook: a dozen values, two levels deep.
const payload = (n: number) => ({
  id: `evt_${n}`,
  type: 'invoice.paid',
  created: 1_760_000_000 + n,
  data: { object: { id: `in_${n}`, amount_paid: 1_200 + n, currency: 'eur', customer: `cus_${n % 97}`, status: 'paid', lines: [{ price: 'price_1', quantity: 1 }] } },
  livemode: false,
});

type Scenario = { path: 'seed' | 'svix'; perBatch: number; webhooks: number };

/** The batches of one scenario, in the order the consumer would apply them (each topic's offsets continue). */
async function batchesOf(scenario: Scenario, seal: (payload: object, subject: ReturnType<typeof payloadSubject>, at: Date) => Promise<string>): Promise<PartitionBatch[]> {
  const offsets = new Map<string, number>();
  const batch = (topic: string, events: HookpostEvent[]): PartitionBatch => {
    const start = offsets.get(topic) ?? 0;
    offsets.set(topic, start + events.length);
    return { topic, partition: 0, messages: events.map((event, index) => ({ offset: String(start + index), event })) };
  };
  const out: PartitionBatch[] = [];
  for (let first = 0; first < scenario.webhooks; first += scenario.perBatch) {
    const received: HookpostEvent[] = [];
    const routed: HookpostEvent[] = [];
    const outcomes: HookpostEvent[] = [];
    for (let n = first; n < Math.min(first + scenario.perBatch, scenario.webhooks); n++) {
      const deliveryId = randomUUID();
      const receivedAt = deps.now();
      const ref = { delivery_id: deliveryId, subscription_id: subscriptionId, event_type: 'invoice.paid', received_at: receivedAt.toISOString() };
      if (scenario.path === 'seed') {
        const sealed = await seal(payload(n), payloadSubject('delivery', deliveryId), receivedAt);
        received.push(makeEvent('WebhookReceived', { ...ref, event_type: 'invoice.paid', payload_sealed: sealed }, deps));
      } else {
        const messageId = randomUUID();
        const sealed = await seal(payload(n), payloadSubject('message', messageId), receivedAt);
        received.push(
          makeEvent('MessageCreated', { message_id: messageId, app_id: appId, event_type: 'invoice.paid', event_id: null, channels: null, tags: null, payload_sealed: sealed, received_at: ref.received_at }, deps),
        );
        routed.push(
          makeEvent('MessageRouted', { message_id: messageId, app_id: appId, event_type: 'invoice.paid', received_at: ref.received_at, deliveries: [{ delivery_id: deliveryId, subscription_id: subscriptionId }], routed_at: deps.now().toISOString() }, deps),
        );
        Object.assign(ref, { message_id: messageId });
      }
      const startedAt = deps.now().toISOString();
      outcomes.push(
        makeEvent('DeliveryAttempted', { ...ref, attempt_number: 1, status_code: 200, duration_ms: 12, error: null, response_headers: { 'content-type': 'application/json' }, response_body: '{"received":true}', started_at: startedAt }, deps),
        makeEvent('DeliverySucceeded', { ...ref, attempt_count: 1, last_status_code: 200, last_error: null, delivered_at: deps.now().toISOString() }, deps),
      );
    }
    out.push(batch('hookpost.webhooks', received));
    if (routed.length > 0) out.push(batch('hookpost.deliveries', routed));
    out.push(batch('hookpost.deliveries', outcomes));
  }
  return out;
}

type TableCounts = { ins: number; upd: number; hot: number; del: number };
async function tableCounts(): Promise<Map<string, TableCounts>> {
  const result = await admin.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
  return new Map(result.rows.map((row) => [row.relname, { ins: Number(row.ins), upd: Number(row.upd), hot: Number(row.hot), del: Number(row.del) }]));
}

async function relationSizes(): Promise<Map<string, { table: string; bytes: number }>> {
  const result = await admin.query<{ name: string; table: string; bytes: string }>(
    `SELECT c.relname AS name, t.relname AS table, pg_relation_size(c.oid) AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = COALESCE(i.indrelid, c.oid)
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') AND t.relname = ANY($2::text[])`,
    [schema, WRITTEN_TABLES],
  );
  return new Map(result.rows.map((row) => [row.name, { table: row.table, bytes: Number(row.bytes) }]));
}

const walPosition = async () => (await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
const walBytes = async (from: string) => Number((await admin.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn) AS bytes', [from])).rows[0]!.bytes);

let walinspect = false;
async function walStats(from: string): Promise<Map<string, number> | undefined> {
  if (!walinspect) return undefined;
  const result = await admin.query<{ kind: string; bytes: string }>(
    `SELECT split_part("resource_manager/record_type", '/', 1) AS kind, sum(combined_size) AS bytes
     FROM pg_get_wal_stats($1::pg_lsn, pg_current_wal_flush_lsn(), false) GROUP BY 1`,
    [from],
  );
  return new Map(result.rows.filter((row) => Number(row.bytes) > 0).map((row) => [row.kind, Number(row.bytes)]));
}

/** The per-table counters once every row of the run is in them (a backend reports its counts when it ends). */
async function settledCounts(before: Map<string, TableCounts>, expectedDeliveryInserts: number): Promise<Map<string, TableCounts>> {
  for (let tries = 0; ; tries++) {
    const now = await tableCounts();
    const deliveries = (now.get('webhook_deliveries')?.ins ?? 0) - (before.get('webhook_deliveries')?.ins ?? 0);
    if (deliveries >= expectedDeliveryInserts || tries > 100) return now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Run = {
  scenario: Scenario;
  statements: Map<string, number>;
  transactions: number;
  rows: Map<string, TableCounts>;
  growth: Map<string, { table: string; bytes: number }>;
  wal: number;
  /** WAL by resource manager (Heap, Btree, Gin, ...), where pg_walinspect can be used (a superuser's server). */
  walByKind?: Map<string, number>;
};

/** One run on emptied tables: the writer on a pool of its own, whose statements are counted. */
async function measure(scenario: Scenario): Promise<Run> {
  const sealing = projectorPayloadKeyring(admin, box, 3_600_000);
  const batches = await batchesOf(scenario, (value, subject, at) => sealing.keyring.seal(value, subject, at, RETENTION_MS, BUCKET_MS));
  await admin.query(`TRUNCATE ${WRITTEN_TABLES.join(', ')}`);
  await admin.query('CHECKPOINT').catch(() => undefined);

  const pool = createPool(DATABASE_URL, schema, 2);
  const statements = new Map<string, number>();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text);
      const kind = text.replace(/\s+/g, ' ').trim().split(' ').slice(0, 3).join(' ');
      statements.set(kind, (statements.get(kind) ?? 0) + 1);
      return query(...args);
    };
  });
  const writer = new PgProjectionWriter(pool, projectorPayloadKeyring(pool, box, 3_600_000));
  const counts = await tableCounts();
  const sizes = await relationSizes();
  const from = await walPosition();
  for (const batch of batches) await writer.applyBatch(batch);
  const wal = await walBytes(from);
  const walByKind = await walStats(from);
  await pool.end();
  const after = await settledCounts(counts, scenario.webhooks);
  const grown = await relationSizes();
  const rows = new Map([...after].filter(([table]) => (WRITTEN_TABLES as readonly string[]).includes(table)).map(([table, now]) => {
    const was = counts.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
    return [table, { ins: now.ins - was.ins, upd: now.upd - was.upd, hot: now.hot - was.hot, del: now.del - was.del }];
  }));
  const growth = new Map([...grown].map(([name, size]) => [name, { table: size.table, bytes: size.bytes - (sizes.get(name)?.bytes ?? 0) }]));
  return { scenario, statements, transactions: batches.length, rows, growth, wal, walByKind };
}

const per = (value: number, run: Run) => (value / run.scenario.webhooks).toFixed(2);
const name = (scenario: Scenario) => `${scenario.path}, ${scenario.perBatch === 1 ? '1 webhook' : `${scenario.perBatch} webhooks`} per batch`;

function hotShare(run: Run): string {
  const deliveries = run.rows.get('webhook_deliveries');
  return deliveries && deliveries.upd > 0 ? `${Math.round((100 * deliveries.hot) / deliveries.upd)} %` : '-';
}

function report(runs: Run[]): string {
  const lines = ['', `Projector write cost per webhook (schema ${schema}, ${runs[0]!.scenario.webhooks}+ webhooks per run, WAL: least of ${REPEATS} runs)`, ''];
  lines.push('| scenario | statements | transactions | rows inserted | rows updated | of which HOT | delivery row updates HOT | WAL bytes | heap + index growth bytes |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const run of runs) {
    const total = (key: keyof TableCounts) => [...run.rows.values()].reduce((sum, row) => sum + row[key], 0);
    const statements = [...run.statements.values()].reduce((sum, n) => sum + n, 0);
    const growth = [...run.growth.values()].reduce((sum, size) => sum + size.bytes, 0);
    lines.push(`| ${name(run.scenario)} | ${per(statements, run)} | ${per(run.transactions, run)} | ${per(total('ins'), run)} | ${per(total('upd'), run)} | ${per(total('hot'), run)} | ${hotShare(run)} | ${Math.round(run.wal / run.scenario.webhooks)} | ${Math.round(growth / run.scenario.webhooks)} |`);
  }
  for (const run of runs) {
    lines.push('', `${name(run.scenario)}: statements per webhook`);
    for (const [kind, n] of [...run.statements].sort((a, b) => b[1] - a[1])) lines.push(`  ${per(n, run).padStart(6)}  ${kind}`);
    if (run.walByKind) lines.push(`  WAL bytes per webhook by kind: ${[...run.walByKind].sort((a, b) => b[1] - a[1]).map(([kind, bytes]) => `${kind} ${Math.round(bytes / run.scenario.webhooks)}`).join(', ')}`);
    lines.push(`  rows per webhook (inserted / updated / HOT / deleted):`);
    for (const [table, row] of run.rows) if (row.ins + row.upd + row.del > 0) lines.push(`    ${table}: ${per(row.ins, run)} / ${per(row.upd, run)} / ${per(row.hot, run)} / ${per(row.del, run)}`);
    lines.push(`  growth per webhook, bytes (heap and each index):`);
    for (const [relation, size] of [...run.growth].sort((a, b) => a[1].table.localeCompare(b[1].table) || b[1].bytes - a[1].bytes)) {
      if (size.bytes > 0) lines.push(`    ${relation.padEnd(48)} ${Math.round(size.bytes / run.scenario.webhooks)}`);
    }
  }
  return lines.join('\n');
}

const scenarios: Scenario[] = [
  { path: 'seed', perBatch: 1, webhooks: 200 },
  { path: 'seed', perBatch: 50, webhooks: 1_000 },
  { path: 'svix', perBatch: 1, webhooks: 200 },
  { path: 'svix', perBatch: 50, webhooks: 1_000 },
];
const runs = new Map<Scenario, Run>();

beforeAll(async () => {
  await migrate(DATABASE_URL, schema);
  admin = createPool(DATABASE_URL, schema, 2);
  walinspect = await admin.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect').then(() => true, () => false);
  for (const scenario of scenarios) {
    let best: Run | undefined;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const run = await measure(scenario);
      if (!best || run.wal < best.wal) best = { ...run, wal: run.wal };
    }
    runs.set(scenario, best!);
  }
  if (process.env.HOOKPOST_WRITE_COST_REPORT === '1') process.stdout.write(`${report([...runs.values()])}\n`);
}, 600_000);

afterAll(async () => {
  await admin?.query(`DROP SCHEMA "${schema}" CASCADE`);
  await admin?.end();
});

describe('what the projector writes per delivered webhook', () => {
  it('writes each webhook once into each table it needs: one delivery row, one attempt row, one message row on the Svix path', () => {
    for (const run of runs.values()) {
      const rows = (table: string) => run.rows.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      expect(rows('webhook_deliveries').ins).toBe(run.scenario.webhooks);
      expect(rows('delivery_attempts').ins).toBe(run.scenario.webhooks);
      expect(rows('messages').ins).toBe(run.scenario.path === 'svix' ? run.scenario.webhooks : 0);
      // (the delivery row is made by the event that creates it and updated once by the attempt's outcome)
      expect(rows('webhook_deliveries').upd).toBe(run.scenario.webhooks);
    }
  });
});

describe('the reads still find an index for what was dropped', () => {
  const plan = async (sql: string, params: unknown[]) => (await admin.query(`EXPLAIN ${sql}`, params)).rows.map((row) => row['QUERY PLAN']).join('\n');

  beforeAll(async () => {
    // Enough rows that the planner prefers an index on its own.
    await admin.query(`
      INSERT INTO delivery_attempts (id, delivery_id, attempt_number, status_code, duration_ms, started_at, created_at)
      SELECT gen_random_uuid(), gen_random_uuid(), 1 + n % 3, 200, 5, now(), now() FROM generate_series(1, 20000) AS n`);
    await admin.query(`
      INSERT INTO messages (id, app_id, event_type, payload, created_at)
      SELECT gen_random_uuid(), $1, 'bulk.event', jsonb_build_object('n', n, 'customer', 'm' || n), now() - n * interval '1 ms' FROM generate_series(1, 20000) AS n`, [appId]);
    await admin.query(`
      INSERT INTO webhook_deliveries (id, subscription_id, message_id, event_type, status, state_seq, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), $1, id, event_type, 'succeeded', 3, 1, created_at, created_at FROM messages WHERE event_type = 'bulk.event'`, [subscriptionId]);
    await admin.query(`
      INSERT INTO webhook_deliveries (id, subscription_id, event_type, payload, status, state_seq, attempt_count, created_at, updated_at)
      SELECT gen_random_uuid(), $1, 'bulk.event', jsonb_build_object('n', n, 'customer', 'd' || n), 'succeeded', 3, 1, now() - n * interval '1 ms', now()
      FROM generate_series(1, 20000) AS n`, [subscriptionId]);
    await admin.query('ANALYZE delivery_attempts; ANALYZE messages; ANALYZE webhook_deliveries');
  });

  /** The statement a read sends, as PgReadQueries writes it. */
  async function sqlOf(read: (queries: PgReadQueries) => Promise<unknown>): Promise<{ text: string; values: unknown[] }> {
    let sent: { text: string; values: unknown[] } | undefined;
    const recorder = { query: async (text: string, values: unknown[]) => ((sent = { text, values }), { rows: [] }) } as unknown as Pool;
    await read(new PgReadQueries(recorder));
    return sent!;
  }

  it("serves a delivery's attempts, in order, from the unique (delivery_id, attempt_number) index", async () => {
    // (PgReadQueries.listAttempts; the joins from a delivery to its attempts probe the same index)
    const attempts = await plan('SELECT attempt_number, status_code FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_number', [randomUUID()]);
    expect(attempts).toContain('delivery_attempts_delivery_id_attempt_number_key');
    expect(attempts).not.toContain('Sort');
    expect(await plan('SELECT delivery_id FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[])', [[randomUUID(), randomUUID()]])).toContain('delivery_attempts_delivery_id_attempt_number_key');
  });

  it("searches payloads through both GIN indexes, the deliveries' (partial: only those with a payload) and the messages'", async () => {
    for (const customer of ['d77', 'm77']) {
      const search = await sqlOf((queries) => queries.searchDeliveries({ payload_contains: { customer }, limit: 50 }));
      const found = await plan(search.text, search.values);
      expect(found).toContain('webhook_deliveries_payload_idx');
      expect(found).toContain('messages_payload_idx');
      expect(found).not.toMatch(/Seq Scan on (webhook_deliveries|messages)/);
      // (and it finds them: one delivery of its own payload, one of its message's)
      const rows = await admin.query(search.text, search.values);
      expect(rows.rows).toHaveLength(1);
    }
  });
});
