import type { Pool, PoolClient } from 'pg';
import { isSubscriptionEvent, knownFromRecord, nextAttemptSql, supersedesSql, type HookpostEvent, type KnownSubscription, type SubscriptionRecord, type SubscriptionState } from '@hookpost/contracts';
import { projectEvents, type ReadModelChanges } from '../projection/readModelChanges';

export type PartitionBatch = {
  topic: string;
  partition: number;
  /** In offset order; `event` is undefined for a message that was parked as unreadable. */
  messages: { offset: string; event: HookpostEvent | undefined }[];
};

export type AppliedBatch = {
  applied: number;
  skipped: number;
  /** Read-model rows inserted or updated. */
  rows: number;
  /** Subscriptions whose row changed, for the cache to follow. */
  subscriptions: KnownSubscription[];
};

/**
 * Writes a partition's batch of events into the read model in one transaction, together with the offset it
 * reached. Messages below the stored offset were applied before (a redelivery after a crash or rebalance)
 * and are skipped, so nothing is counted twice. Rows are written with one multi-row statement per table.
 */
export class PgProjectionWriter {
  constructor(private readonly pool: Pool) {}

  async applyBatch(batch: PartitionBatch): Promise<AppliedBatch> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      const stored = await client.query<{ next_offset: string }>(
        'SELECT next_offset FROM projector_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE',
        [batch.topic, batch.partition],
      );
      const from = BigInt(stored.rows[0]?.next_offset ?? '0');
      const fresh = batch.messages.filter((message) => BigInt(message.offset) >= from);
      if (fresh.length === 0) {
        await client.query('ROLLBACK');
        return { applied: 0, skipped: batch.messages.length, rows: 0, subscriptions: [] };
      }
      const events = fresh.flatMap((message) => (message.event ? [message.event] : []));
      const changes = projectEvents(events, await this.storedSubscriptions(client, events));
      const { subscriptions, rows } = await this.write(client, changes);
      const next = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
      await client.query(
        `INSERT INTO projector_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)
         ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
        [batch.topic, batch.partition, next.toString()],
      );
      await client.query('COMMIT');
      return { applied: events.length, skipped: batch.messages.length - fresh.length, rows, subscriptions };
    } catch (error) {
      failure = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A client that failed (PostgreSQL restarted, connection cut) is destroyed, not put back in the pool.
      client.release(failure);
    }
  }

  /** The stored rows of the subscriptions the events name, locked until the batch commits. */
  private async storedSubscriptions(client: PoolClient, events: HookpostEvent[]): Promise<Map<string, SubscriptionRecord>> {
    const ids = [...new Set(events.filter(isSubscriptionEvent).map((event) => event.data.id))];
    if (ids.length === 0) return new Map();
    const result = await client.query<SubscriptionState & { deleted_at: Date | null }>(
      `SELECT id, version, name, description, target_url, is_active, event_types, secret, max_attempts, timeout_ms, signature_scheme,
              public_key, previous_secret, previous_secret_expires_at, created_at, updated_at, deleted_at
       FROM subscriptions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    return new Map(result.rows.map((row) => [row.id, subscriptionRecordFromRow(row)]));
  }

  private async write(client: PoolClient, changes: ReadModelChanges): Promise<Pick<AppliedBatch, 'subscriptions' | 'rows'>> {
    let rows = 0;
    const records = [...changes.subscriptions.values()];
    if (records.length > 0) {
      const upserts = records.map(({ state, deleted_at }) => ({
        signature_scheme: 'hmac-sha256',
        public_key: null,
        previous_secret: null,
        previous_secret_expires_at: null,
        ...state,
        deleted_at,
      }));
      // The fold already continued from the locked rows, so its result replaces them.
      rows += (await client.query(
        `INSERT INTO subscriptions AS s (id, version, name, description, target_url, is_active, event_types, secret,
                                         max_attempts, timeout_ms, signature_scheme, public_key, previous_secret,
                                         previous_secret_expires_at, created_at, updated_at, deleted_at)
         SELECT id, version, name, description, target_url, is_active, event_types, secret, max_attempts, timeout_ms, signature_scheme,
                public_key, previous_secret, previous_secret_expires_at, created_at, updated_at, deleted_at
         FROM json_to_recordset($1::json) AS x(id uuid, version int, name text, description text, target_url text, is_active boolean,
                                               event_types text[], secret text, max_attempts int, timeout_ms int, signature_scheme text,
                                               public_key text, previous_secret text, previous_secret_expires_at timestamptz,
                                               created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           version = EXCLUDED.version, name = EXCLUDED.name, description = EXCLUDED.description,
           target_url = EXCLUDED.target_url, is_active = EXCLUDED.is_active, event_types = EXCLUDED.event_types,
           secret = EXCLUDED.secret, max_attempts = EXCLUDED.max_attempts, timeout_ms = EXCLUDED.timeout_ms,
           signature_scheme = EXCLUDED.signature_scheme, public_key = EXCLUDED.public_key,
           previous_secret = EXCLUDED.previous_secret, previous_secret_expires_at = EXCLUDED.previous_secret_expires_at,
           updated_at = EXCLUDED.updated_at, deleted_at = EXCLUDED.deleted_at`,
        [JSON.stringify(upserts)],
      )).rowCount ?? 0;
    }
    const changed = records.map(knownFromRecord);

    const deliveries = [...changes.deliveries.values()].map((change) => ({
      id: change.id,
      subscription_id: change.subscription_id,
      event_type: change.event_type,
      payload: change.payload,
      status: change.state.status,
      state_seq: change.state.seq,
      attempt_count: change.state.attempt_count,
      next_attempt_at: change.state.next_attempt_at,
      last_status_code: change.state.last_status_code,
      last_error: change.state.last_error,
      created_at: change.created_at,
      updated_at: change.updated_at,
      delivered_at: change.state.delivered_at,
    }));
    if (deliveries.length > 0) {
      // The state machine's precedence rule (laterDeliveryState() applies the same one within the batch).
      const take = supersedesSql({ status: 'd.status', seq: 'd.state_seq' }, { seq: 'EXCLUDED.state_seq' });
      const pick = (column: string) => `${column} = CASE WHEN ${take} THEN EXCLUDED.${column} ELSE d.${column} END`;
      // (a deferral at the same position moves only the next attempt time: laterDeliveryState() again)
      const nextAttempt = nextAttemptSql({ status: 'd.status', seq: 'd.state_seq', nextAttempt: 'd.next_attempt_at' }, { seq: 'EXCLUDED.state_seq', nextAttempt: 'EXCLUDED.next_attempt_at' });
      rows += (await client.query(
        `INSERT INTO webhook_deliveries AS d (id, subscription_id, event_type, payload, status, state_seq, attempt_count, next_attempt_at,
                                             last_status_code, last_error, created_at, updated_at, delivered_at)
         SELECT id, subscription_id, event_type, payload, status, state_seq, attempt_count, next_attempt_at,
                last_status_code, last_error, created_at, updated_at, delivered_at
         FROM json_to_recordset($1::json) AS x(id uuid, subscription_id uuid, event_type text, payload jsonb, status text, state_seq int,
                                               attempt_count int, next_attempt_at timestamptz, last_status_code int, last_error text,
                                               created_at timestamptz, updated_at timestamptz, delivered_at timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           payload = COALESCE(d.payload, EXCLUDED.payload),
           event_type = COALESCE(d.event_type, EXCLUDED.event_type),
           updated_at = GREATEST(d.updated_at, EXCLUDED.updated_at),
           next_attempt_at = ${nextAttempt},
           ${['status', 'state_seq', 'attempt_count', 'last_status_code', 'last_error', 'delivered_at'].map(pick).join(',\n           ')}`,
        [JSON.stringify(deliveries)],
      )).rowCount ?? 0;
    }

    const attempts = [...changes.attempts.values()];
    if (attempts.length > 0) {
      rows += (await client.query(
        `INSERT INTO delivery_attempts (id, delivery_id, attempt_number, status_code, duration_ms, error, response_headers, response_body, started_at, created_at)
         SELECT id, delivery_id, attempt_number, status_code, duration_ms, error, response_headers, response_body, started_at, created_at
         FROM json_to_recordset($1::json) AS x(id uuid, delivery_id uuid, attempt_number int, status_code int, duration_ms int, error text,
                                               response_headers jsonb, response_body text, started_at timestamptz, created_at timestamptz)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(attempts)],
      )).rowCount ?? 0;
    }
    return { subscriptions: changed, rows };
  }
}

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string | null));

/** A stored row as the fold sees it: the same shape the events carry (timestamps as ISO strings). */
export function subscriptionRecordFromRow(row: Record<string, unknown>): SubscriptionRecord {
  const { deleted_at, ...rest } = row;
  const state = {
    ...rest,
    created_at: iso(rest.created_at),
    updated_at: iso(rest.updated_at),
    previous_secret_expires_at: iso(rest.previous_secret_expires_at ?? null),
  } as SubscriptionState;
  return { state, deleted_at: iso(deleted_at ?? null) };
}
