import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { assertValidEvent, topicFor, topicNames, type HookpostEvent } from '@hookpost/contracts';
import { spawnService, type ServiceProcess } from '../support/processes';
import { withReadModel } from '../support/readModel';
import { removeRunResources, runEnv } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Events written by earlier releases stay readable: each file in test/fixtures/event-log/ is a sample of the
 * log one release wrote (test/fixtures/captureEventLog.ts makes it). Every event must pass today's schemas,
 * and a projector of today's build, fed the sample as its log, must build the read model the sample implies.
 */
const SAMPLES = path.join(__dirname, '../fixtures/event-log');
const samples = readdirSync(SAMPLES)
  .filter((file) => file.endsWith('.jsonl'))
  .map((file) => ({
    release: file.replace(/\.jsonl$/, ''),
    events: readFileSync(path.join(SAMPLES, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown),
  }));

/** What the sample says the read model must hold, worked out from the events alone. */
function expectedReadModel(events: HookpostEvent[]) {
  const subscriptions = new Map<string, boolean>();
  const deliveries = new Map<string, string>();
  const messages = new Set<string>();
  const expunged = new Set<string>();
  const applications = new Map<string, boolean>();
  const outcome: Partial<Record<HookpostEvent['type'], string>> = { DeliverySucceeded: 'succeeded', DeliveryFailed: 'failed', DeliveryCancelled: 'cancelled' };
  for (const event of events) {
    switch (event.type) {
      case 'SubscriptionCreated':
        subscriptions.set(event.data.id, true);
        break;
      case 'SubscriptionDeleted':
        subscriptions.set(event.data.id, false);
        break;
      case 'ApplicationCreated':
        applications.set(event.data.id, true);
        break;
      case 'ApplicationDeleted':
        applications.set(event.data.id, false);
        break;
      case 'MessageCreated':
        messages.add(event.data.message_id);
        break;
      case 'MessageContentExpunged':
        expunged.add(event.data.message_id);
        break;
      case 'DeliverySucceeded':
      case 'DeliveryFailed':
      case 'DeliveryCancelled':
        deliveries.set(event.data.delivery_id, outcome[event.type]!);
        break;
      default:
        break;
    }
  }
  return { subscriptions, deliveries, messages, expunged, applications };
}

describe.each(samples)('the event log sample of release $release', ({ events }) => {
  it('passes every schema of this release', () => {
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(() => assertValidEvent(event)).not.toThrow();
  });

  it("is projected by this release's projector into the read model it implies", async () => {
    const run = runEnv();
    let projector: ServiceProcess | undefined;
    const kafka = new Kafka({ clientId: 'test-log-sample', brokers: run.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      projector = await spawnService('projector', run.env);
      // The sample as the log: each event on its topic and key, in the sample's order.
      const logged = events as HookpostEvent[];
      const topics = topicNames(run.topicPrefix);
      await producer.connect();
      for (const event of logged) {
        const { topic, key } = topicFor(topics, event);
        await producer.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(event) }] });
      }

      const expected = expectedReadModel(logged);
      const live = [...expected.subscriptions].filter(([, alive]) => alive).map(([id]) => id).sort();
      const readModel = () =>
        withReadModel(run.schema, async (client) => ({
          live: (await client.query('SELECT id FROM subscriptions WHERE deleted_at IS NULL ORDER BY id')).rows.map((row) => row.id as string),
          deliveries: new Map((await client.query('SELECT id, status FROM webhook_deliveries')).rows.map((row) => [row.id as string, row.status as string])),
          messages: new Map((await client.query('SELECT id, payload FROM messages')).rows.map((row) => [row.id as string, row.payload as unknown])),
          applications: new Map((await client.query('SELECT id, deleted_at FROM applications')).rows.map((row) => [row.id as string, row.deleted_at === null])),
        }));
      const model = await eventually(
        async () => {
          const now = await readModel().catch(() => undefined);
          const settled = now && [...expected.deliveries].every(([id, status]) => now.deliveries.get(id) === status) && now.messages.size === expected.messages.size && now.live.length === live.length;
          return settled ? now : undefined;
        },
        { what: 'the sample projected', timeoutMs: 60_000 },
      );
      expect(model.live).toEqual(live);
      for (const [id, status] of expected.deliveries) expect([id, model.deliveries.get(id)]).toEqual([id, status]);
      expect([...model.messages.keys()].sort()).toEqual([...expected.messages].sort());
      for (const id of expected.expunged) expect(model.messages.get(id)).toBeNull();
      for (const [id, alive] of expected.applications) expect([id, model.applications.get(id)]).toEqual([id, alive]);
    } finally {
      await producer.disconnect().catch(() => undefined);
      await projector?.stop();
      await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
    }
  });
});
