/** Topic names, behind a configurable prefix so test runs and environments can isolate themselves. */
export type Topics = Readonly<{ subscriptions: string; webhooks: string; deliveries: string; deadLetters: string }>;

export function topicNames(prefix: string): Topics {
  return {
    /** SubscriptionCreated/Updated/Deleted, keyed by subscription id. */
    subscriptions: `${prefix}hookpost.subscriptions`,
    /** WebhookReceived, keyed by subscription id. */
    webhooks: `${prefix}hookpost.webhooks`,
    /** DeliveryAttempted and the delivery's outcome events, keyed by delivery id. */
    deliveries: `${prefix}hookpost.deliveries`,
    /** Messages a consumer could not read (invalid JSON, schema or type), parked with where they came from. */
    deadLetters: `${prefix}hookpost.dead-letters`,
  };
}
