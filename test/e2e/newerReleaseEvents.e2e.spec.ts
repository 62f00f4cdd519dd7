import { Kafka, logLevel } from 'kafkajs';
import { makeEvent, topicNames } from '@hookpost/contracts';
import { spawnService, type ServiceProcess } from '../support/processes';
import { withReadModel } from '../support/readModel';
import { readTopic } from '../support/eventLog';
import { removeRunResources, runEnv } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * A reader older than the log (a rolling upgrade done in the wrong order, or a rollback) meets an event a newer
 * release wrote: it must neither skip it nor park it as garbage, since the newer release's readers need it.
 * It stops (exit code 75) without committing past it, so the group hands the partition to one that can read it.
 */
describe('an event from a newer release', () => {
  it('stops the projector that cannot read it, before it, with nothing skipped or parked', async () => {
    const run = runEnv({ HOOKPOST_TOPIC_PARTITIONS: '1' });
    const topics = topicNames(run.topicPrefix);
    const kafka = new Kafka({ clientId: 'test-newer-release', brokers: run.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const admin = kafka.admin();
    let projector: ServiceProcess | undefined;
    try {
      projector = await spawnService('projector', run.env);
      const exited = new Promise<number | null>((resolve) => projector!.child.once('exit', (code) => resolve(code)));
      await producer.connect();
      await admin.connect();
      // Given an application the projector can read, then one with a field only a newer release writes
      const deps = { now: () => new Date(), newId: () => crypto.randomUUID() };
      const application = (id: string) => ({ id, version: 1, name: 'app', uid: null, metadata: {}, rate_limit: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() });
      const readable = makeEvent('ApplicationCreated', application(crypto.randomUUID()), deps);
      const newer = { ...makeEvent('ApplicationCreated', application(crypto.randomUUID()), deps), data: { ...application(crypto.randomUUID()), region: 'eu' } };
      await producer.send({ topic: topics.subscriptions, acks: -1, messages: [readable, newer].map((event) => ({ key: event.data.id, value: JSON.stringify(event) })) });

      // Then the projector stops at the second with exit code 75, without applying it or committing past it
      // (the first, in the same batch, waits with it for the next owner of the partition)
      expect(await exited).toBe(75);
      const applied = await withReadModel(run.schema, async (client) => (await client.query('SELECT id FROM applications WHERE id = ANY($1::uuid[])', [[readable.data.id, newer.data.id]])).rows.map((row) => row.id));
      expect(applied).not.toContain(newer.data.id);
      const committed = await admin.fetchOffsets({ groupId: `${run.topicPrefix}hookpost-projector`, topics: [topics.subscriptions] });
      const offset = Number(committed[0]!.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
      expect(offset).toBeLessThanOrEqual(1);
      // and parked nothing: the newer event is not garbage
      const parked = await readTopic(run.env.KAFKA_BROKERS!, topics.deadLetters).catch(() => []);
      expect(parked).toHaveLength(0);

      // When it starts again (still too old), it stops again at the same place
      projector = await spawnService('projector', run.env).catch((error: Error) => {
        // (it may stop before it reports ready)
        expect(error.message).toMatch(/exited with 75/);
        return undefined;
      });
      if (projector) await eventually(async () => (projector!.child.exitCode === 75 ? true : undefined), { what: 'the second stop' });
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await projector?.stop();
      await removeRunResources({ topicPrefix: run.topicPrefix, schema: run.schema, redisPrefix: run.env.HOOKPOST_REDIS_PREFIX!, env: run.env });
    }
  });
});
