import { createHash } from 'node:crypto';
import {
  makeEvent,
  maxFilteredRecorded,
  whyEndpointSkips,
  type EventOf,
  type MessageCreated,
  type PayloadFilters,
  type RedeliveryRequested,
  type SubscriptionState,
} from '@hookpost/contracts';
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
 * and channels matching, payload filter passed), recorded in one MessageRouted event, and the first attempt's
 * job of each. The endpoints its event type and channels selected but whose payload filter refused it are
 * recorded in the same event with why (`filtered`), so every endpoint the message was for is accounted for.
 * `message.payload` is the payload as opened (the filters read it); a sealed one travels on sealed. An ordered
 * endpoint's delivery is marked so (the read model then knows its lane owns it) and its job is put in its
 * endpoint's lane instead of being attempted at once.
 */
export function decideFanOut(
  message: MessageCreated & { payload: Record<string, unknown> },
  endpoints: readonly SubscriptionState[],
  deps: { now: () => Date; newId: () => string; payloadFilters: Pick<PayloadFilters, 'verdict'> },
): { event: EventOf<'MessageRouted'>; jobs: DeliveryJob[]; laned: DeliveryJob[] } {
  const deliveries: { delivery_id: string; subscription_id: string; ordered?: true }[] = [];
  const filtered: { subscription_id: string; reason: 'payload_filter'; detail: string }[] = [];
  let omitted = 0;
  for (const endpoint of endpoints) {
    if ((endpoint.app_id ?? '') !== message.app_id) continue;
    // A message for one endpoint (send-example) goes to it whatever its filters, as long as it is enabled.
    const skip =
      message.endpoint_id === undefined
        ? whyEndpointSkips(endpoint, message, deps.payloadFilters)
        : endpoint.id === message.endpoint_id && endpoint.is_active
          ? undefined
          : ({ reason: 'not addressed' } as const);
    if (skip === undefined) {
      // An ordered endpoint's delivery goes through its lane, for good: the route is decided here, once.
      deliveries.push({ delivery_id: deliveryIdFor(message.message_id, endpoint.id), subscription_id: endpoint.id, ...(endpoint.ordered === true ? { ordered: true as const } : {}) });
      continue;
    }
    switch (skip.reason) {
      case 'payload_filter':
        if (filtered.length < maxFilteredRecorded) filtered.push({ subscription_id: endpoint.id, reason: 'payload_filter', detail: skip.detail });
        else omitted += 1;
        break;
      // Svix's own rules: the message was never for this endpoint.
      case 'disabled':
      case 'event_type':
      case 'channel':
      case 'not addressed':
        break;
      default: {
        const unknown: never = skip;
        throw new Error(`unknown skip ${JSON.stringify(unknown)}`);
      }
    }
  }
  const event = makeEvent(
    'MessageRouted',
    {
      message_id: message.message_id,
      app_id: message.app_id,
      event_type: message.event_type,
      received_at: message.received_at,
      deliveries,
      routed_at: deps.now().toISOString(),
      // (absent when nothing was filtered out: the event stays as it was before payload filters)
      ...(filtered.length > 0 ? { filtered } : {}),
      ...(omitted > 0 ? { filtered_omitted: omitted } : {}),
    },
    deps,
  );
  const all = deliveries.map(
    (delivery): DeliveryJob => ({
      delivery_id: delivery.delivery_id,
      subscription_id: delivery.subscription_id,
      message_id: message.message_id,
      event_type: message.event_type,
      // A sealed payload stays sealed on its way (RabbitMQ included): each attempt opens it, so one made after
      // the payload expired or was expunged finds it gone and ends.
      ...(message.payload_sealed === undefined ? { payload: message.payload } : { payload_sealed: message.payload_sealed }),
      received_at: message.received_at,
      attempt_number: 1,
      last_status_code: null,
      last_error: null,
    }),
  );
  // (`jobs`: first attempts made at once; `laned`: put in their endpoints' lanes, in message order)
  return { event, jobs: all.filter((_, i) => deliveries[i]!.ordered !== true), laned: all.filter((_, i) => deliveries[i]!.ordered === true) };
}

/**
 * Deliveries asked for again (resend, recover, replay-missing): for each message, a new delivery to the one
 * endpoint, its id derived from the request, the message and the endpoint (the same if the request is carried
 * out again after a crash), marked manual. The deliveries that ended before stay as they ended.
 */
export function decideRedelivery(
  request: RedeliveryRequested,
  endpoint: SubscriptionState,
  messages: readonly { id: string; event_type: string; payload: Record<string, unknown> | null; payload_sealed?: string; created_at: string }[],
  deps: { now: () => Date; newId: () => string },
): { events: EventOf<'MessageRouted'>[]; jobs: DeliveryJob[] } {
  const events: EventOf<'MessageRouted'>[] = [];
  const jobs: DeliveryJob[] = [];
  for (const message of messages) {
    // (an expunged message has nothing left to send)
    if (message.payload === null) continue;
    // A message replayed to an endpoint that missed it is one delivery however often (or concurrently) the
    // replay is asked for; a resend or a recover is a new one each time it is asked for.
    const occasion = request.kind === 'replay_missing' ? 'replay' : request.request_id;
    const delivery = { delivery_id: deliveryIdFor(message.id, `${endpoint.id}/${occasion}`), subscription_id: endpoint.id };
    events.push(
      makeEvent(
        'MessageRouted',
        { message_id: message.id, app_id: request.app_id, event_type: message.event_type, received_at: message.created_at, deliveries: [delivery], routed_at: deps.now().toISOString(), trigger: 'manual' },
        deps,
      ),
    );
    // (sealed again when it came sealed, so the job ends with the payload's retention like the first one)
    const payload = message.payload_sealed === undefined ? { payload: message.payload } : { payload_sealed: message.payload_sealed };
    jobs.push({ ...delivery, message_id: message.id, event_type: message.event_type, ...payload, received_at: message.created_at, attempt_number: 1, last_status_code: null, last_error: null });
  }
  return { events, jobs };
}
