import type { HookpostEvent } from './events';

/** Topic names, behind a configurable prefix so test runs and environments can isolate themselves. */
export type Topics = Readonly<{ subscriptions: string; webhooks: string; deliveries: string; deadLetters: string }>;

export function topicNames(prefix: string): Topics {
  return {
    /**
     * The configuration: subscription (endpoint), application and event-type events, keyed by the entity's id
     * (an event type by `event-type:<name>`). One topic, so one read fence covers every configuration read.
     */
    subscriptions: `${prefix}hookpost.subscriptions`,
    /**
     * WebhookReceived keyed by subscription id; MessageCreated (and every other event of an application's
     * messages and background tasks) keyed by application id.
     */
    webhooks: `${prefix}hookpost.webhooks`,
    /** DeliveryAttempted and the delivery's outcome events, keyed by delivery id. */
    deliveries: `${prefix}hookpost.deliveries`,
    /** Messages a consumer could not read (invalid JSON, schema or type), parked with where they came from. */
    deadLetters: `${prefix}hookpost.dead-letters`,
  };
}

/**
 * Where an event goes: its topic and the key that picks its partition. The one routing rule the gateway and
 * the dispatcher both write with: a subscription's events (and the webhooks received for it) keyed by the
 * subscription, so they stay in order per subscription; a delivery's outcome events keyed by the delivery.
 */
export function topicFor(topics: Topics, event: HookpostEvent): { topic: string; key: string } {
  switch (event.type) {
    case 'SubscriptionCreated':
    case 'SubscriptionUpdated':
    case 'SubscriptionChanged':
    case 'SubscriptionDeleted':
      return { topic: topics.subscriptions, key: event.data.id };
    case 'ApplicationCreated':
    case 'ApplicationChanged':
    case 'ApplicationDeleted':
      return { topic: topics.subscriptions, key: event.data.id };
    case 'EventTypeCreated':
    case 'EventTypeChanged':
    case 'EventTypeDeleted':
      return { topic: topics.subscriptions, key: `event-type:${event.data.id}` };
    case 'WebhookReceived':
      return { topic: topics.webhooks, key: event.data.subscription_id };
    // (commands the API takes go to the topics reads are fenced on: subscriptions and webhooks)
    case 'MessageCreated':
    case 'RedeliveryRequested':
    case 'MessageContentExpunged':
    case 'AttemptContentExpunged':
    // (a background task's events too, the dispatcher's as well as the API's cancel: one partition per
    // application keeps them in order, and the reads of a task are fenced on this topic)
    case 'BackgroundTaskProgressed':
    case 'BackgroundTaskFinished':
    case 'BackgroundTaskCancelled':
      return { topic: topics.webhooks, key: event.data.app_id };
    case 'MessageRouted':
      return { topic: topics.deliveries, key: event.data.message_id };
    case 'DeliveryAttempted':
    case 'DeliverySucceeded':
    case 'DeliveryRetryScheduled':
    case 'DeliveryFailed':
    case 'DeliveryCancelled':
    case 'DeliveryDeferred':
    case 'DeliveryHeld':
    case 'DeliveryReleased':
      return { topic: topics.deliveries, key: event.data.delivery_id };
    default: {
      const unknown: never = event;
      throw new Error(`no topic for event ${(unknown as { type: string }).type}`);
    }
  }
}
