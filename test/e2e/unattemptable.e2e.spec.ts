import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createClient } from 'redis';
import { topicNames, type SubscriptionState } from '@hookpost/contracts';
import { SecretBox, sealedFor } from '@hookpost/platform';
import { Receiver } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Deliveries that can never be attempted, mixed into a load of good ones: each must end `failed` saying why,
 * without holding back its partition (the dispatcher's committed offsets must reach the log's end).
 */
const masterKey = { id: 'current', key: randomBytes(32) };
const stackBox = new SecretBox([masterKey]);
// A master key the stack is not configured with, as after one is removed from HOOKPOST_SECRET_KEYS.
const removedBox = new SecretBox([{ id: 'removed', key: randomBytes(32) }]);
const newSecret = () => 'whsec_' + randomBytes(32).toString('base64');

let stack: Stack;
let receiver: Receiver;
let kafka: Kafka;

beforeAll(async () => {
  stack = await startStack({ env: { HOOKPOST_SECRET_KEYS: `${masterKey.id}:${masterKey.key.toString('base64')}` } });
  receiver = await Receiver.start();
  kafka = new Kafka({ clientId: 'unattemptable', brokers: stack.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

/** A subscription written straight to the log, as the API would no longer accept it; its secret sealed by `seal`. */
async function writeSubscription(name: string, seal: (id: string) => string): Promise<string> {
  const id = randomUUID();
  const sealedSecret = seal(id);
  const at = new Date().toISOString();
  const state: SubscriptionState = {
    id, version: 1, name, description: null, target_url: receiver.url, is_active: true, event_types: null, secret: sealedSecret,
    max_attempts: null, timeout_ms: null, signature_scheme: 'hmac-sha256', public_key: null, previous_secret: null,
    previous_secret_expires_at: null, created_at: at, updated_at: at,
  };
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: topicNames(stack.topicPrefix).subscriptions,
    messages: [{ key: id, value: JSON.stringify({ id: randomUUID(), type: 'SubscriptionCreated', schema_version: 1, occurred_at: at, data: state }) }],
  });
  await producer.disconnect();
  await eventually(async () => ((await stack.api('GET', `/subscriptions/${id}`)).status === 200 ? true : undefined), { what: `${name} projected` });
  return id;
}

/** A subscription created through the API whose cached state is then replaced by one that fails its schema. */
async function subscriptionWithBrokenState(): Promise<string> {
  const created = await stack.api('POST', '/subscriptions', { name: 'broken state', target_url: receiver.url });
  const id = created.body.id as string;
  const redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
  const key = `${stack.env.HOOKPOST_REDIS_PREFIX}subscription:${id}`;
  const cached = JSON.parse((await redis.get(key))!) as Record<string, unknown>;
  // A newer version than any the log holds, so the projector's own cache writes leave it in place.
  const { secret: _secret, ...withoutSecret } = cached;
  await redis.set(key, JSON.stringify({ ...withoutSecret, version: 99, timeout_ms: 'fast' }));
  await redis.quit();
  return id;
}

async function committedToTheEnd(): Promise<{ partition: number; committed: string; end: string }[] | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = topicNames(stack.topicPrefix).webhooks;
    const [committed] = await admin.fetchOffsets({ groupId: `${stack.topicPrefix}hookpost-dispatcher`, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const partitions = ends.map(({ partition, high }) => ({
      partition,
      committed: committed!.partitions.find((p) => p.partition === partition)?.offset ?? '-1',
      end: high,
    }));
    // A partition no message went to has nothing to commit (-1) and is at its end (0).
    return partitions.every((p) => p.committed === p.end || (p.end === '0' && p.committed === '-1')) ? partitions : undefined;
  } finally {
    await admin.disconnect();
  }
}

describe('deliveries that can never be attempted, under load', () => {
  it('each ends failed with its reason, every other webhook is delivered, and committed offsets reach the end of every partition', async () => {
    // Given four good subscriptions
    const good: string[] = [];
    for (let i = 0; i < 4; i += 1) good.push((await stack.api('POST', '/subscriptions', { name: `good ${i}`, target_url: receiver.url })).body.id as string);
    // and one whose cached state was corrupted (it must not be used: the read model's state is)
    const brokenCache = await subscriptionWithBrokenState();
    good.push(brokenCache);
    // and three that can never be delivered to
    const poisons = [
      { what: 'secret sealed with a removed master key', id: await writeSubscription('removed key', (id) => removedBox.seal(newSecret(), sealedFor(id, 'secret'))), reason: /^the subscription's secret cannot be opened \(no key with id removed/ },
      { what: 'unusable ed25519 key as an HMAC secret', id: await writeSubscription('short ed25519 key', (id) => stackBox.seal('whsk_AAAAAAAAAAAAAAAAAAAAAAAA', sealedFor(id, 'secret'))), reason: /^the subscription's secret cannot sign \(an ed25519 signing key has 32 bytes\)$/ },
      // Sealed with the stack's own key, but for another subscription: swapped in, it must not sign.
      { what: "another subscription's sealed secret", id: await writeSubscription('swapped secret', () => stackBox.seal(newSecret(), sealedFor(randomUUID(), 'secret'))), reason: /^the subscription's secret cannot be opened \(it does not open as subscription:[0-9a-f-]{36}:secret under key current: sealed for another subscription or field/ },
    ];

    // When 105 good webhooks and 5 for each poisoned subscription are ingested, interleaved, 20 at a time
    const ingests = [
      ...Array.from({ length: 105 }, (_, n) => ({ subscription: good[n % good.length]!, n, poison: undefined as (typeof poisons)[number] | undefined })),
      ...poisons.flatMap((poison) => Array.from({ length: 5 }, (_, n) => ({ subscription: poison.id, n, poison }))),
    ].sort(() => Math.random() - 0.5);
    const accepted: { deliveryId: string; poison: (typeof poisons)[number] | undefined }[] = [];
    for (let start = 0; start < ingests.length; start += 20) {
      await Promise.all(
        ingests.slice(start, start + 20).map(async ({ subscription, n, poison }) => {
          const answer = await stack.api('POST', `/ingest/${subscription}`, { event_type: 'load.test', n });
          expect(answer.status).toBe(202);
          accepted.push({ deliveryId: answer.body.delivery_id as string, poison });
        }),
      );
    }

    // Then every good webhook is delivered
    await eventually(async () => (receiver.requests.length >= 105 ? true : undefined), { timeoutMs: 60_000, what: '105 deliveries' });
    // and each poisoned one ends failed, not attempted, its last_error saying why
    for (const { deliveryId, poison } of accepted) {
      const delivery = await eventually(
        async () => {
          const answer = await stack.api('GET', `/deliveries/${deliveryId}`);
          return answer.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(answer.body.status) ? answer.body : undefined;
        },
        { timeoutMs: 30_000, what: `delivery ${deliveryId} finished` },
      );
      if (poison) {
        expect({ what: poison.what, status: delivery.status, attempts: delivery.attempt_count }).toEqual({ what: poison.what, status: 'failed', attempts: 0 });
        expect(delivery.last_error).toMatch(poison.reason);
        expect(delivery.attempts).toEqual([]);
      } else {
        expect(delivery.status).toBe('succeeded');
      }
    }
    expect(receiver.requests).toHaveLength(105);
    // and the corrupted cache entry was replaced by the subscription's valid state
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    const cached = JSON.parse((await redis.get(`${stack.env.HOOKPOST_REDIS_PREFIX}subscription:${brokenCache}`))!);
    await redis.quit();
    expect(cached).toMatchObject({ id: brokenCache, version: 1, timeout_ms: null });
    // and the dispatcher's group has committed every partition of the webhooks topic to its end
    const partitions = await eventually(committedToTheEnd, { timeoutMs: 20_000, what: 'committed offsets at the end of every partition' });
    expect(partitions.reduce((sum, p) => sum + Number(p.end), 0)).toBe(120);

    const metrics = await (await fetch(`http://127.0.0.1:${stack.dispatcher.port}/metrics`)).text();
    expect(metrics).toMatch(/^hookpost_deliveries_total\{outcome="failed".*\} 15$/m);
    // and nothing is left unfinished
    await stack.projectionCaughtUp();
    const projector = await (await fetch(`${stack.env.PROJECTOR_URL}/metrics`)).text();
    expect(projector).toMatch(/^hookpost_oldest_unfinished_delivery_age_seconds\{.*\} 0$/m);
  });
});
