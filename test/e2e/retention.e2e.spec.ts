import { randomUUID } from 'node:crypto';
import { fromExternalId, topicNames } from '@hookpost/contracts';
import { deriveSubjectKey, openPayload, payloadNodeContext, payloadSubject, sealedPayloadBucket, SecretBox } from '@hookpost/platform';
import { readTopic, type LoggedMessage } from '../support/eventLog';
import { withReadModel } from '../support/readModel';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Payload retention by crypto-shredding, through the public API with real receivers: after a message's
 * retention ends, or once its content is expunged, its payload is in none of the API, the read model's tables
 * or the raw bytes of the run's Kafka topics, and its key no longer opens the sealed copy the log keeps; its
 * metadata (deliveries, attempts) stays, and a retry still waiting then is cancelled, saying why.
 */
let stack: Stack;
let ok: Receiver;
let busy: Receiver;
let slow: Receiver;

// One retention hour lasts 100 ms here, buckets 500 ms: a payloadRetentionHours of 30 is kept 3 to 3.5 s.
const HOUR_MS = 100;

beforeAll(async () => {
  stack = await startStack({
    env: {
      HOOKPOST_RETENTION_HOUR_MS: String(HOUR_MS),
      HOOKPOST_PAYLOAD_BUCKET_MS: '500',
      HOOKPOST_RETENTION_SWEEP_MS: '200',
      HOOKPOST_PAYLOAD_KEY_CACHE_MS: '300',
      // (the slow receiver's Retry-After of 20 s is honoured: its retry comes well after the expunge)
      HOOKPOST_RETRY_AFTER_MAX_MS: '20000',
    },
  });
  ok = await Receiver.start();
  busy = await Receiver.start();
  // Always busy, asking to be called again in 3 s (after the first message's retention has ended).
  busy.reply = () => ({ status: 503, headers: { 'retry-after': '3' }, body: 'busy' });
  slow = await Receiver.start();
  slow.reply = () => ({ status: 503, headers: { 'retry-after': '20' }, body: 'busy' });
});

afterAll(async () => {
  await ok?.stop();
  await busy?.stop();
  await slow?.stop();
  await stack?.stop();
});

async function runTopics(): Promise<LoggedMessage[]> {
  const topics = topicNames(stack.topicPrefix);
  const all: LoggedMessage[] = [];
  for (const topic of [topics.subscriptions, topics.webhooks, topics.deliveries]) all.push(...(await readTopic(stack.env.KAFKA_BROKERS!, topic)));
  return all;
}

/** Every row of every table of the run's schema that contains `text` anywhere, as `table: row`. */
async function rowsContaining(text: string): Promise<string[]> {
  return withReadModel(stack.schema, async (client) => {
    const tables = await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [stack.schema]);
    const found: string[] = [];
    for (const { table_name: table } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${table}" t WHERE t::text LIKE $1`, [`%${text}%`]);
      found.push(...rows.rows.map((row) => `${table}: ${row.row}`));
    }
    return found;
  });
}

/** The message's MessageCreated event as the log holds it. */
function createdEvent(log: LoggedMessage[], messageId: string): { data: { payload?: unknown; payload_sealed?: string } } {
  const event = log.map((message) => JSON.parse(message.value ?? 'null')).find((candidate) => candidate?.type === 'MessageCreated' && candidate.data.message_id === messageId);
  if (!event) throw new Error(`no MessageCreated for ${messageId} in the log`);
  return event;
}

/** Whether the key store (read directly, opened with the run's master key) still opens the message's sealed payload. */
async function storeOpens(sealed: string, messageId: string): Promise<boolean> {
  const box = SecretBox.fromConfig(stack.env.HOOKPOST_SECRET_KEYS!);
  const bucket = sealedPayloadBucket(sealed);
  const nodes = await withReadModel(stack.schema, async (client) => (await client.query<{ prefix: string; sealed_key: string }>('SELECT prefix, sealed_key FROM payload_key_nodes WHERE bucket_id = $1', [bucket.id])).rows);
  const frontier = nodes.map((node) => ({ prefix: node.prefix, key: Buffer.from(box.open(node.sealed_key, payloadNodeContext(bucket.id, node.prefix)), 'base64') }));
  const subject = payloadSubject('message', messageId);
  const key = deriveSubjectKey(frontier, subject);
  if (!key) return false;
  openPayload(sealed, key, subject);
  return true;
}

async function deliveryRows(messageId: string) {
  return withReadModel(stack.schema, async (client) =>
    (await client.query<{ subscription_id: string; status: string; attempt_count: number }>('SELECT subscription_id, status, attempt_count FROM webhook_deliveries WHERE message_id = $1 ORDER BY subscription_id', [messageId])).rows,
  );
}

async function cancelReasons(messageId: string): Promise<string[]> {
  return (await readTopic(stack.env.KAFKA_BROKERS!, topicNames(stack.topicPrefix).deliveries))
    .map((message) => JSON.parse(message.value ?? 'null'))
    .filter((event) => event?.type === 'DeliveryCancelled' && event.data.message_id === messageId)
    .map((event) => String(event.data.reason));
}

async function setUp(name: string, busyReceiver: Receiver) {
  const { api } = stack;
  const app = (await api('POST', '/api/v1/app', { name })).body as { id: string };
  const eventType = `retention.${randomUUID().slice(0, 8)}`;
  const okEndpoint = (await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: ok.url, filterTypes: [eventType] })).body as { id: string };
  const busyEndpoint = (await api('POST', `/api/v1/app/${app.id}/endpoint`, { url: busyReceiver.url, filterTypes: [eventType] })).body as { id: string };
  return { app, eventType, okEndpoint, busyEndpoint };
}

describe('payload retention', () => {
  it('after a message’s retention the payload is gone from the API, the database and the log, its metadata stays, and its waiting retry is cancelled', async () => {
    const { api } = stack;
    const { app, eventType } = await setUp('retention-expiry', busy);
    const marker = `retention-marker-${randomUUID()}`;

    // Given a message kept 30 (test) hours, delivered to one endpoint, while another keeps answering 503 Retry-After 3 s
    const sent = await api('POST', `/api/v1/app/${app.id}/msg`, { eventType, payload: { marker, amount: 7 }, payloadRetentionHours: 30 });
    expect(sent.status).toBe(202);
    const messageId = fromExternalId('msg', sent.body.id)!;
    const sentAt = Date.now();
    await eventually(async () => (ok.requests.some((request) => request.body.includes(marker)) ? true : undefined), { what: 'the delivery to the healthy endpoint' });

    // Then the log never held it in the clear: its event carries it sealed only
    const created = createdEvent(await runTopics(), messageId);
    expect(created.data.payload).toBeUndefined();
    expect(created.data.payload_sealed).toMatch(/^pk1:/);
    expect(sealedPayloadBucket(created.data.payload_sealed!).expiresAt.getTime()).toBeGreaterThanOrEqual(sentAt - 1_000 + 30 * HOUR_MS);

    // When its retention ends, the busy endpoint's retry comes due after it
    const gone = await eventually(async () => {
      const read = await api('GET', `/api/v1/app/${app.id}/msg/${sent.body.id}?with_content=true`);
      return read.status === 200 && JSON.stringify(read.body.payload) === '{}' ? read.body : undefined;
    }, { what: 'the payload to expire', timeoutMs: 15_000 });

    // Then the API shows the message without its payload, and a search by payload finds nothing
    expect(gone).toMatchObject({ id: sent.body.id, eventType });
    const search = await api('GET', `/deliveries?payload_contains=${encodeURIComponent(JSON.stringify({ marker }))}`);
    expect(search.status).toBe(200);
    expect(search.body.data).toEqual([]);
    // And its deliveries stay: one succeeded; the busy one's retry, due after the expiry, was cancelled saying why
    const reasons = await eventually(async () => {
      const found = await cancelReasons(messageId);
      return found.length > 0 ? found : undefined;
    }, { what: 'the busy delivery to be cancelled', timeoutMs: 20_000 });
    expect(reasons).toEqual(['payload expired (retention period ended)']);
    const rows = await eventually(async () => {
      const found = await deliveryRows(messageId);
      return found.some((row) => row.status === 'cancelled') ? found : undefined;
    }, { what: 'the cancel in the read model' });
    expect(rows.map((row) => row.status).sort()).toEqual(['cancelled', 'succeeded']);
    expect(rows.every((row) => row.attempt_count >= 1)).toBe(true);
    expect(busy.requests.filter((request) => request.body.includes(marker)).length).toBeLessThan(4);

    // And no table of the database and no byte of the log holds the payload, and the store no longer opens it
    await eventually(async () => ((await rowsContaining(marker)).length === 0 ? true : undefined), { what: 'no row with the payload' });
    const log = await runTopics();
    expect(log.filter((message) => message.value?.includes(marker))).toEqual([]);
    expect(await storeOpens(created.data.payload_sealed!, messageId)).toBe(false);
    const bucket = sealedPayloadBucket(created.data.payload_sealed!);
    const state = await withReadModel(stack.schema, async (client) => (await client.query('SELECT shredded_at IS NOT NULL AS shredded, (SELECT count(*)::int FROM payload_key_nodes WHERE bucket_id = $1) AS nodes FROM payload_key_buckets WHERE id = $1', [bucket.id])).rows[0]);
    expect(state).toEqual({ shredded: true, nodes: 0 });
  });

  it('expunging a message’s content removes it at once from the API, the database and the log, alone of its bucket, and cancels its waiting retry', async () => {
    const { api } = stack;
    const { app, eventType } = await setUp('retention-expunge', slow);
    const [marker, keptMarker] = [`expunge-marker-${randomUUID()}`, `kept-marker-${randomUUID()}`];

    // Given messages with the default retention, sent together so that (500 ms buckets here) at least one other
    // shares the first one's bucket, all delivered to the healthy endpoint
    const [sent, ...others] = await Promise.all([
      api('POST', `/api/v1/app/${app.id}/msg`, { eventType, payload: { marker } }),
      ...[1, 2, 3].map((n) => api('POST', `/api/v1/app/${app.id}/msg`, { eventType, payload: { keptMarker, n } })),
    ]);
    expect([sent, ...others].map((answer) => answer.status)).toEqual([202, 202, 202, 202]);
    const messageId = fromExternalId('msg', sent!.body.id)!;
    await eventually(async () => (ok.requests.some((request) => request.body.includes(marker)) && ok.requests.filter((request) => request.body.includes(keptMarker)).length === 3 ? true : undefined), { what: 'every delivery' });
    const before = await runTopics();
    const sealed = createdEvent(before, messageId).data.payload_sealed!;
    const kept = others.find((other) => sealedPayloadBucket(createdEvent(before, fromExternalId('msg', other.body.id)!).data.payload_sealed!).id === sealedPayloadBucket(sealed).id)!;
    expect(kept).toBeDefined();
    const keptId = fromExternalId('msg', kept.body.id)!;
    const keptSealed = createdEvent(before, keptId).data.payload_sealed!;
    const keptPayload = JSON.parse(ok.requests.find((request) => request.body.includes(keptMarker) && request.headers['webhook-id'] === kept.body.id)!.body);
    expect(await storeOpens(sealed, messageId)).toBe(true);
    expect((await api('GET', `/api/v1/app/${app.id}/msg/${sent!.body.id}?with_content=true`)).body.payload).toEqual({ marker });

    // When the first one's content is expunged
    expect((await api('DELETE', `/api/v1/app/${app.id}/msg/${sent!.body.id}/content`)).status).toBe(204);

    // Then the API shows it without its payload, its key is forgotten, and no table or log byte holds it
    expect((await api('GET', `/api/v1/app/${app.id}/msg/${sent!.body.id}?with_content=true`)).body.payload).toEqual({});
    await eventually(async () => ((await storeOpens(sealed, messageId)) ? undefined : true), { what: 'the key to be forgotten' });
    expect(await rowsContaining(marker)).toEqual([]);
    expect((await runTopics()).filter((message) => message.value?.includes(marker))).toEqual([]);
    // And the other message of its bucket is untouched: it still opens and reads
    expect(await storeOpens(keptSealed, keptId)).toBe(true);
    expect((await api('GET', `/api/v1/app/${app.id}/msg/${kept.body.id}?with_content=true`)).body.payload).toEqual(keptPayload);
    // And the busy endpoint's retry of it, due after the expunge, is cancelled saying why (the other one's is not)
    const reasons = await eventually(async () => {
      const found = await cancelReasons(messageId);
      return found.length > 0 ? found : undefined;
    }, { what: 'the busy delivery to be cancelled', timeoutMs: 40_000 });
    expect(reasons).toEqual(['payload expunged']);
    expect(await cancelReasons(keptId)).toEqual([]);
  });

  it('seals the seed API’s ingests too, with the global default retention', async () => {
    const marker = `ingest-marker-${randomUUID()}`;
    const created = await stack.api('POST', '/subscriptions', { name: 'retention-seed', target_url: ok.url });
    expect(created.status).toBe(201);
    const ingested = await stack.api('POST', `/ingest/${created.body.id}`, { event_type: 'seed.retention', marker });
    expect(ingested.status).toBe(202);
    await eventually(async () => (ok.requests.some((request) => request.body.includes(marker)) ? true : undefined), { what: 'the seed delivery' });
    const log = await runTopics();
    expect(log.filter((message) => message.value?.includes(marker))).toEqual([]);
    const received = log.map((message) => JSON.parse(message.value ?? 'null')).find((event) => event?.type === 'WebhookReceived' && event.data.delivery_id === ingested.body.delivery_id);
    expect(received.data.payload_sealed).toMatch(/^pk1:/);
    // (kept the default 2,160 test hours)
    expect(sealedPayloadBucket(received.data.payload_sealed).expiresAt.getTime()).toBeGreaterThan(Date.now() + 2_000 * HOUR_MS);
    expect((await stack.api('GET', `/deliveries/${ingested.body.delivery_id}`)).body.payload).toEqual({ event_type: 'seed.retention', marker });
  });
});
