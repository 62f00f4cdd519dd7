import amqp from 'amqplib';
import { fromExternalId } from '@hookpost/contracts';
import { Receiver, type ReceivedRequest } from '../support/receiver';
import { startStack, type Stack } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(180_000);

/**
 * An ordered endpoint's lane lost by RabbitMQ (its queue deleted while the head is retrying and 29 messages
 * wait behind it; a wiped broker loses it the same way) is put together again from the read model, in order:
 * the receiver still accepts every message once, in the order sent, with no gap.
 */
let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({
    env: {
      // A head that keeps failing holds its lane for about 20 s.
      HOOKPOST_RETRY_SCHEDULE_MS: Array.from({ length: 40 }, (_, i) => (i === 0 ? 0 : 500)).join(','),
      HOOKPOST_RETRY_JITTER_PERCENT: '0',
      HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: '0',
      HOOKPOST_LANE_POLL_MS: '200',
      HOOKPOST_LANE_DISCOVERY_MS: '500',
    },
  });
  receiver = await Receiver.start();
});

afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

const seqOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { seq: number }).seq;
const accepted = () => receiver.requests.filter((request) => request.answered !== undefined && request.answered < 300).map(seqOf);

describe('an ordered lane RabbitMQ lost', () => {
  it('is put in again from the log, in order: every message accepted once, none missing', async () => {
    // Given an ordered endpoint whose receiver fails, 30 messages sent in order, and the head retrying
    let recovered = false;
    receiver.reply = () => (recovered ? { status: 200 } : { status: 500 });
    const app = (await stack.api('POST', '/api/v1/app', { name: 'lane-loss' })).body.id as string;
    const created = await stack.api('POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url, ordered: true });
    expect(created.status).toBe(201);
    const endpointId = fromExternalId('ep', created.body.id as string)!;
    for (let seq = 0; seq < 30; seq += 1) {
      expect((await stack.api('POST', `/api/v1/app/${app}/msg`, { eventType: 'lane.loss', payload: { seq } })).status).toBe(202);
    }
    await eventually(async () => (receiver.requests.length >= 3 ? true : undefined), { timeoutMs: 20_000, what: 'the head retried' });
    expect(new Set(receiver.requests.map(seqOf))).toEqual(new Set([0]));

    // When RabbitMQ loses the lane (its queue deleted, with the 29 waiting and the head it held)
    const connection = await amqp.connect(stack.env.AMQP_URL!);
    try {
      const channel = await connection.createChannel();
      const lane = `${stack.topicPrefix}hookpost.lane.${endpointId}`;
      const { messageCount } = await channel.checkQueue(lane);
      expect(messageCount).toBe(29);
      await channel.deleteQueue(lane);
    } finally {
      await connection.close();
    }
    const lostAt = Date.now();
    // (and the receiver recovers a moment later)
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    recovered = true;

    // Then every message is accepted once, in the order sent, none missing
    await eventually(async () => (accepted().length >= 30 ? true : undefined), { timeoutMs: 60_000, what: 'all 30 accepted after the lane was lost' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    console.log(`ordered lane lost: ${JSON.stringify({ accepted: accepted().length, requests: receiver.requests.length, restoredAfterMs: receiver.requests.find((request) => request.at > lostAt && request.answered === 200)!.at - lostAt })}`);
    expect(accepted()).toEqual(Array.from({ length: 30 }, (_, seq) => seq));
    // and the read model has each delivered
    await eventually(
      async () => {
        const answer = await stack.api('GET', `/deliveries?subscription_id=${endpointId}&limit=100`);
        const statuses = (answer.body.data as { status: string }[]).map((delivery) => delivery.status);
        return statuses.length === 30 && statuses.every((status) => status === 'succeeded') ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'all 30 succeeded in the read model' },
    );
  });
});
