import { KafkaRequestQueueClass } from '../src/kafka';

/** What kafkajs's RequestQueue needs to be built alone (its logger is only used for debug lines). */
function queue() {
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  return new KafkaRequestQueueClass({ maxInFlightRequests: 1, requestTimeout: 1_000, enforceRequestTimeout: true, clientId: 'test', broker: 'b:1', logger }) as unknown as {
    pending: unknown[];
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    throttledUntil: number;
    checkPendingRequests(): void;
  };
}

describe("kafkajs's request queue, as the adapter leaves it", () => {
  it('arms no timer when nothing is pending: an answered request does not start a 1 ms loop (tulios/kafkajs#1556)', () => {
    // Given a queue with nothing pending, as after every answer, throttled or not
    const idle = queue();
    // When the answer's check runs
    idle.checkPendingRequests();
    // Then nothing is scheduled (kafkajs 2.2.4 arms a 1 ms timer here that re-arms itself for ever)
    expect(idle.throttleCheckTimeoutId).toBeNull();
    const throttled = queue();
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.checkPendingRequests();
    expect(throttled.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules a check for a request that waits behind a throttle', () => {
    // Given a throttled queue holding one request
    const waiting = queue();
    waiting.throttledUntil = Date.now() + 60_000;
    waiting.pending.push({ send: () => undefined });
    // When it checks
    waiting.checkPendingRequests();
    // Then a check is scheduled for when the throttle ends
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(waiting.throttleCheckTimeoutId!);
  });
});
