/** One delivery on its way: what the dispatcher needs to make its next attempt. */
export type DeliveryJob = Readonly<{
  delivery_id: string;
  subscription_id: string;
  event_type: string | null;
  payload: Record<string, unknown>;
  received_at: string;
  /** The attempt about to be made, 1-based. */
  attempt_number: number;
  /** From the previous attempt, for the record if this one never happens. */
  last_status_code: number | null;
  last_error: string | null;
}>;
