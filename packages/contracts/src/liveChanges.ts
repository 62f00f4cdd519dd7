import type { DeliveryStatus } from './deliveryStateMachine';

/**
 * What the read model announces as it commits (the dashboard's live view): one item per delivery row a batch
 * inserted or changed, as the row stands after the commit. The projector publishes a list of them on a Redis
 * channel while anyone listens; each gateway relays them to its dashboards as server-sent events.
 */
export type DeliveryRowChange = {
  id: string;
  /** The application of the delivery's endpoint. */
  app_id: string | null;
  subscription_id: string;
  message_id: string | null;
  event_type: string | null;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  created_at: string;
  updated_at: string;
};

/** The Redis channel, under the deployment's Redis prefix (tests isolate themselves by it). */
export const liveDeliveriesChannel = (redisPrefix: string): string => `${redisPrefix}live:deliveries`;
