import { randomUUID } from 'node:crypto';
import { assertValidEvent, makeEvent, type MessageCreated, type WebhookReceived } from '../src';

const deps = { now: () => new Date('2026-03-01T00:00:00Z'), newId: randomUUID };
const sealed = 'pk1:1772409600000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function message(payload: Partial<MessageCreated>) {
  return makeEvent('MessageCreated', { message_id: randomUUID(), app_id: randomUUID(), event_type: 'a.b', event_id: null, channels: null, tags: null, received_at: '2026-03-01T00:00:00.000Z', ...payload } as MessageCreated, deps);
}
function received(payload: Partial<WebhookReceived>) {
  return makeEvent('WebhookReceived', { delivery_id: randomUUID(), subscription_id: randomUUID(), event_type: null, received_at: '2026-03-01T00:00:00.000Z', ...payload } as WebhookReceived, deps);
}

describe('a payload in the log: plain or sealed, exactly one', () => {
  it('takes a plain payload (events from before retention) and a sealed one', () => {
    for (const make of [message, received]) {
      expect(() => assertValidEvent(make({ payload: { a: 1 } }))).not.toThrow();
      expect(() => assertValidEvent(make({ payload_sealed: sealed }))).not.toThrow();
    }
  });

  it('refuses both, neither, and a sealed payload that is not one', () => {
    for (const make of [message, received]) {
      expect(() => assertValidEvent(make({ payload: { a: 1 }, payload_sealed: sealed }))).toThrow(/invalid/);
      expect(() => assertValidEvent(make({}))).toThrow(/invalid/);
      expect(() => assertValidEvent(make({ payload_sealed: 'sealed:v2:k:abc' }))).toThrow(/invalid/);
    }
  });
});
