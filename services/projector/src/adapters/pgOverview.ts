import type { Pool } from 'pg';

/**
 * The dashboard overview's figures, from the read model: deliveries by outcome and attempt response times per
 * time bucket, the success rate, the retry backlog and the endpoints failing most, over the last hour (1-minute
 * buckets) or day (15-minute buckets). Each query is bounded by the creation-time indexes of its table.
 */
export type OverviewWindow = 'hour' | 'day';

export const overviewWindows: Record<OverviewWindow, { seconds: number; bucketSeconds: number }> = {
  hour: { seconds: 3_600, bucketSeconds: 60 },
  day: { seconds: 86_400, bucketSeconds: 900 },
};

export type Overview = {
  window: OverviewWindow;
  bucketSeconds: number;
  /** Deliveries created in each bucket, by the status they have now. */
  deliveries: { at: string; succeeded: number; failed: number; retrying: number; pending: number; cancelled: number }[];
  /** Attempts made in each bucket: by result, and their response time (sent to response read) percentiles. */
  attempts: { at: string; succeeded: number; failed: number; p50_ms: number | null; p99_ms: number | null }[];
  totals: { succeeded: number; failed: number; retrying: number; pending: number; cancelled: number; success_rate: number | null; p50_ms: number | null; p99_ms: number | null };
  retry_backlog: { retrying: number; oldest_next_attempt_at: string | null };
  failing_endpoints: { subscription_id: string; app_id: string | null; target_url: string | null; failed: number; retrying: number }[];
};

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null));
const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));

export class PgOverview {
  constructor(private readonly pool: Pool) {}

  async overview(window: OverviewWindow): Promise<Overview> {
    const { seconds, bucketSeconds } = overviewWindows[window];
    const since = `now() - make_interval(secs => $1)`;
    const bucket = (column: string) => `to_timestamp(floor(extract(epoch FROM ${column}) / $2) * $2)`;
    const [deliveries, attempts, backlog, failing] = await Promise.all([
      this.pool.query(
        `SELECT ${bucket('created_at')} AS at, status, count(*)::int AS n
         FROM webhook_deliveries WHERE created_at >= ${since} AND (payload IS NOT NULL OR message_id IS NOT NULL)
         GROUP BY 1, 2 ORDER BY 1`,
        [seconds, bucketSeconds],
      ),
      this.pool.query(
        `SELECT ${bucket('created_at')} AS at,
                count(*) FILTER (WHERE status_code BETWEEN 200 AND 299)::int AS succeeded,
                count(*) FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)::int AS failed,
                percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
         FROM delivery_attempts WHERE created_at >= ${since}
         GROUP BY 1 ORDER BY 1`,
        [seconds, bucketSeconds],
      ),
      this.pool.query(`SELECT count(*)::int AS retrying, min(next_attempt_at) AS oldest FROM webhook_deliveries WHERE status = 'retrying'`),
      this.pool.query(
        `SELECT d.subscription_id, s.app_id, s.target_url,
                count(*) FILTER (WHERE d.status = 'failed')::int AS failed, count(*) FILTER (WHERE d.status = 'retrying')::int AS retrying
         FROM webhook_deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id
         WHERE d.created_at >= now() - make_interval(secs => $1) AND d.status IN ('failed', 'retrying')
         GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 5`,
        [seconds],
      ),
    ]);
    const byBucket = new Map<string, Overview['deliveries'][number]>();
    const totals = { succeeded: 0, failed: 0, retrying: 0, pending: 0, cancelled: 0 };
    for (const row of deliveries.rows as { at: Date; status: keyof typeof totals; n: number }[]) {
      const at = row.at.toISOString();
      const entry = byBucket.get(at) ?? { at, succeeded: 0, failed: 0, retrying: 0, pending: 0, cancelled: 0 };
      entry[row.status] += row.n;
      totals[row.status] += row.n;
      byBucket.set(at, entry);
    }
    const overall = await this.pool.query(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
       FROM delivery_attempts WHERE created_at >= now() - make_interval(secs => $1)`,
      [seconds],
    );
    const ended = totals.succeeded + totals.failed;
    return {
      window,
      bucketSeconds,
      deliveries: [...byBucket.values()],
      attempts: attempts.rows.map((row) => ({ at: iso(row.at)!, succeeded: row.succeeded, failed: row.failed, p50_ms: number(row.p50), p99_ms: number(row.p99) })),
      totals: { ...totals, success_rate: ended === 0 ? null : totals.succeeded / ended, p50_ms: number(overall.rows[0]?.p50), p99_ms: number(overall.rows[0]?.p99) },
      retry_backlog: { retrying: backlog.rows[0]?.retrying ?? 0, oldest_next_attempt_at: iso(backlog.rows[0]?.oldest ?? null) },
      failing_endpoints: failing.rows.map((row) => ({ subscription_id: row.subscription_id, app_id: row.app_id ?? null, target_url: row.target_url ?? null, failed: row.failed, retrying: row.retrying })),
    };
  }
}
