import { createHash } from 'node:crypto';
import { endpointWants, makeEvent, type EventOf, type MessageCreated, type SubscriptionState } from '@hookpost/contracts';
import type { DeliveryJob } from './deliveryJob';

/**
 * A delivery's id, derived from its message and endpoint: deciding the fan-out again (after a crash, before
 * the message's offset was committed) names the same deliveries, so nothing is delivered under two ids.
 * (A name-based UUID, version 8: SHA-256 of both ids, with the version and variant bits set.)
 */
export function deliveryIdFor(messageId: string, endpointId: string): string {
  const hash = createHash('sha256').update(`${messageId.toLowerCase()}/${endpointId.toLowerCase()}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The fan-out of one message: one delivery per endpoint of its application that wants it (enabled, event type
 * and channels matching), recorded in one MessageRouted event, and the first attempt's job of each.
 */
export function decideFanOut(
  message: MessageCreated,
  endpoints: readonly SubscriptionState[],
  deps: { now: () => Date; newId: () => string },
): { event: EventOf<'MessageRouted'>; jobs: DeliveryJob[] } {
  const wanted = endpoints.filter((endpoint) => (endpoint.app_id ?? '') === message.app_id && endpointWants(endpoint, message));
  const deliveries = wanted.map((endpoint) => ({ delivery_id: deliveryIdFor(message.message_id, endpoint.id), subscription_id: endpoint.id }));
  const event = makeEvent(
    'MessageRouted',
    {
      message_id: message.message_id,
      app_id: message.app_id,
      event_type: message.event_type,
      received_at: message.received_at,
      deliveries,
      routed_at: deps.now().toISOString(),
    },
    deps,
  );
  const jobs = deliveries.map(
    (delivery): DeliveryJob => ({
      delivery_id: delivery.delivery_id,
      subscription_id: delivery.subscription_id,
      message_id: message.message_id,
      event_type: message.event_type,
      payload: message.payload as Record<string, unknown>,
      received_at: message.received_at,
      attempt_number: 1,
      last_status_code: null,
      last_error: null,
    }),
  );
  return { event, jobs };
}
