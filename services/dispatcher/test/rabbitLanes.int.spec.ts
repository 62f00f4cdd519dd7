import amqp from 'amqplib';
import { createLogger } from '@hookpost/platform';
import { RabbitLanes, type HeadOutcome } from '../src/adapters/rabbitLanes';
import type { DeliveryJob } from '../src/delivery/deliveryJob';

/**
 * The lanes against the real RabbitMQ: one consumer at a time sends (single active consumer), one head at a
 * time (prefetch 1), a head given back comes first again, and a lane whose consumer goes is handed to the
 * other, its head first.
 */
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
const log = createLogger('test', 'warn');
const endpointId = '00000000-0000-4000-8000-00000000e001';
const opened: RabbitLanes[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function job(seq: number): DeliveryJob {
  return {
    delivery_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    subscription_id: endpointId,
    event_type: 'lane.test',
    payload: { seq },
    received_at: '2026-11-30T05:00:00.000Z',
    attempt_number: 1,
    last_status_code: null,
    last_error: null,
  };
}
const seqOf = (head: DeliveryJob) => (head.payload as { seq: number }).seq;

async function lanes(): Promise<RabbitLanes> {
  const connected = await RabbitLanes.connect({ url: AMQP_URL, prefix, log });
  opened.push(connected);
  return connected;
}

async function until(probe: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

afterAll(async () => {
  for (const connected of opened) await connected.close();
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.deleteQueue(`${prefix}hookpost.lane.${endpointId}`);
  await connection.close();
});

describe('RabbitLanes', () => {
  it('gives one consumer the heads, one at a time, in order; a head given back comes first again; a consumer that goes hands the lane over, head first', async () => {
    // Given two dispatchers' lanes consuming one endpoint's lane
    const seen: { by: string; seq: number }[] = [];
    let inHand = 0;
    let mostInHand = 0;
    let givenBack = false;
    let firstGone: (() => Promise<void>) | undefined;
    const runHead = (by: string) => async (head: DeliveryJob): Promise<HeadOutcome> => {
      inHand += 1;
      mostInHand = Math.max(mostInHand, inHand);
      seen.push({ by, seq: seqOf(head) });
      await sleep(20);
      // (the head 3 is given back once, as a lane does when it has held it as long as it may)
      if (seqOf(head) === 3 && !givenBack) {
        givenBack = true;
        inHand -= 1;
        return 'requeue';
      }
      // (the first consumer goes away while it holds head 6: its connection drops with the head unacknowledged,
      // as in a SIGKILL; what this handler does after does not reach RabbitMQ)
      if (seqOf(head) === 6 && by === 'first' && firstGone) {
        inHand -= 1;
        await firstGone();
        return 'ack';
      }
      inHand -= 1;
      return 'ack';
    };
    const first = await lanes();
    const second = await lanes();
    await first.start({ runHead: runHead('first'), park: async () => undefined });
    await first.consume(endpointId);
    await sleep(200);
    await second.start({ runHead: runHead('second'), park: async () => undefined });
    await second.consume(endpointId);
    let closed = false;
    firstGone = async () => {
      await (first as unknown as { connection: { close: () => Promise<void> } }).connection.close();
      closed = true;
    };

    // When ten deliveries are put in the lane, in order
    await first.enqueue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(job));

    // Then every one is handled, in order, one at a time
    await until(() => new Set(seen.filter((entry) => entry.seq > 0).map((entry) => entry.seq)).size === 10 && seen[seen.length - 1]!.seq === 10, 'ten heads');
    expect(closed).toBe(true);
    expect(mostInHand).toBe(1);
    // the head given back was taken again at once, before the next; the head the first consumer held when it
    // went was the second consumer's first, and the rest followed it
    expect(seen.map((entry) => entry.seq)).toEqual([1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 10]);
    const handOver = seen.findIndex((entry) => entry.by === 'second');
    expect(seen.slice(0, handOver).every((entry) => entry.by === 'first')).toBe(true);
    expect(seen.slice(handOver).every((entry) => entry.by === 'second')).toBe(true);
    expect(seen[handOver]!.seq).toBe(6);
    expect(await second.depth(endpointId)).toBe(0);
  });
});
