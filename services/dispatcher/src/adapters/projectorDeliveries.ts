import type { OverdueRetry } from '../delivery/overdueRetry';

/** The dispatcher's view of the read model: deliveries still waiting for a retry. */
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

/** Retries the read model shows overdue (due before `dueBefore`), page by page, from the projector's internal API. */
export async function* overdueRetries(projectorUrl: string, dueBefore: Date, headers: Record<string, string>, pageSize = 200): AsyncGenerator<OverdueRetry> {
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ due_before: dueBefore.toISOString(), limit: String(pageSize) });
    if (after) query.set('after', after);
    const response = await fetch(`${projectorUrl}/internal/deliveries/overdue-retries?${query}`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`projector answered ${response.status} listing overdue retries`);
    const page = (await response.json()) as { data: OverdueRetry[]; next_after: string | null };
    yield* page.data;
    after = page.next_after;
  } while (after);
}
