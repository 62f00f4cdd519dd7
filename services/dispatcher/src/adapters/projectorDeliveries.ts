/** The dispatcher's view of the read model: the deliveries of a subscription still waiting for a retry. */
export type RetryingDelivery = {
  id: string;
  subscription_id: string;
  event_type: string | null;
  created_at: string;
  attempt_count: number;
  last_status_code: number | null;
  last_error: string | null;
};

export async function* retryingDeliveries(projectorUrl: string, subscriptionId: string, headers: Record<string, string>): AsyncGenerator<RetryingDelivery> {
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ subscription_id: subscriptionId, status: 'retrying', limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const response = await fetch(`${projectorUrl}/deliveries?${query}`, { headers });
    if (!response.ok) throw new Error(`projector answered ${response.status} listing retrying deliveries`);
    const page = (await response.json()) as { data: RetryingDelivery[]; next_cursor: string | null };
    yield* page.data;
    cursor = page.next_cursor;
  } while (cursor);
}
