import type { Pool } from 'pg';
import { CURSOR_PATTERN, cursorAfter, isHeldSql, type ApplicationState, type DeliveryStatus, type EventTypeState, type SubscriptionState } from '@hookpost/contracts';
import { APPLICATION_STATE_COLUMNS, EVENT_TYPE_STATE_COLUMNS, SUBSCRIPTION_STATE_COLUMNS } from './pgProjectionWriter';

/** Read queries over the projection, each served by an index the migration creates. */

export type Page<T> = { data: T[]; next_cursor: string | null };
export type Cursor = { created_at: string; id: string };

const SUBSCRIPTION_COLUMNS = `id, name, description, target_url, is_active, event_types, max_attempts, timeout_ms, signature_scheme, public_key,
                              created_at, updated_at`;
/** Whether the webhook_deliveries row `alias` is held now (its endpoint paused): the state machine's isHeld, as SQL. */
export function deliveryHeldSql(alias: string): string {
  return isHeldSql({
    status: `${alias}.status`,
    seq: `${alias}.state_seq`,
    hold: { seq: `${alias}.hold_seq`, at: `${alias}.held_at` },
    release: { seq: `${alias}.release_seq`, at: `${alias}.released_hold_at` },
  });
}
export const DELIVERY_HELD = deliveryHeldSql('d');
// A fanned-out delivery's payload is its message's (kept once, not once per endpoint). A held delivery has no
// next attempt time: it waits for its endpoint to be resumed.
// (app_id: the application of the delivery's endpoint; message_id: the message it fans out, null for a seed ingest)
const DELIVERY_COLUMNS = `d.id, s.app_id, d.message_id, d.subscription_id, d.event_type, COALESCE(d.payload, m.payload) AS payload, d.status,
                          CASE WHEN ${DELIVERY_HELD} THEN d.held_at END AS held_since, d.attempt_count,
                          CASE WHEN ${DELIVERY_HELD} THEN NULL ELSE d.next_attempt_at END AS next_attempt_at,
                          d.last_status_code, d.last_error, d.created_at, d.updated_at, d.delivered_at`;
// (PostgreSQL drops the join to subscriptions from a query that uses none of its columns)
const DELIVERIES = 'webhook_deliveries d LEFT JOIN messages m ON m.id = d.message_id LEFT JOIN subscriptions s ON s.id = d.subscription_id';
/**
 * A delivery is visible once the event that creates it (WebhookReceived, MessageRouted) is in. (A sealed
 * WebhookReceived sets payload_expires_at, so its delivery stays visible once its payload is gone.)
 */
const DELIVERY_BORN = '(d.payload IS NOT NULL OR d.message_id IS NOT NULL OR d.payload_expires_at IS NOT NULL)';
const ATTEMPT_COLUMNS = `delivery_id, attempt_number, status_code, duration_ms, error, response_headers, response_body, started_at`;

// least() skips NULLs: a status with no rows does not hide the other; with neither the age is NULL. A held
// delivery (its endpoint paused) is waiting on purpose, not stuck: it does not count.
export const OLDEST_UNFINISHED_DELIVERY_AGE_SQL = `SELECT EXTRACT(EPOCH FROM now() - least(
    (SELECT min(created_at) FROM webhook_deliveries d WHERE status = 'pending' AND NOT ${deliveryHeldSql('d')}),
    (SELECT min(created_at) FROM webhook_deliveries d WHERE status = 'retrying' AND NOT ${deliveryHeldSql('d')})))::float8 AS age`;

export type DeliverySearch = {
  app_id?: string;
  subscription_id?: string;
  status?: DeliveryStatus;
  event_type?: string;
  payload_contains?: object;
  created_after?: string;
  created_before?: string;
  limit: number;
  cursor?: Cursor;
};

function iso(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

function toJson<T extends Record<string, unknown>>(row: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = iso(value);
  return out as T;
}

/** Newest first; the cursor is the last row's (created_at, id). */
function page<T extends { created_at: unknown; id: unknown }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit).map(toJson);
  const last = data[data.length - 1];
  const next_cursor = rows.length > limit && last ? encodeCursor({ created_at: String(last.created_at), id: String(last.id) }) : null;
  return { data, next_cursor };
}

/** The last row's created_at (ms since the epoch) and id, in the form the API document publishes. */
export function encodeCursor(cursor: Cursor): string {
  return cursorAfter(cursor);
}

const cursorForm = new RegExp(CURSOR_PATTERN);

/** Undefined for anything outside the published form; every value of that form names a position. */
export function decodeCursor(text: string): Cursor | undefined {
  if (!cursorForm.test(text)) return undefined;
  const [ms, id] = text.split('.') as [string, string];
  return { created_at: new Date(Number(ms)).toISOString(), id };
}

export class PgReadQueries {
  constructor(private readonly pool: Pool) {}

  async listSubscriptions(options: { q?: string; limit: number; cursor?: Cursor }): Promise<Page<Record<string, unknown> & { id: string; created_at: unknown }>> {
    const where = ['deleted_at IS NULL'];
    const params: unknown[] = [];
    if (options.q) {
      params.push(options.q);
      where.push(`search_vector @@ websearch_to_tsquery('simple', $${params.length})`);
    }
    if (options.cursor) {
      params.push(options.cursor.created_at, options.cursor.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(options.limit + 1);
    const result = await this.pool.query(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return page(result.rows, options.limit);
  }

  /** A live subscription as the API shows it, and its version (for the ETag). */
  async getSubscription(id: string): Promise<{ subscription: Record<string, unknown>; version: number } | undefined> {
    const result = await this.pool.query(`SELECT version, ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1 AND deleted_at IS NULL`, [id]);
    if (!result.rows[0]) return undefined;
    const { version, ...subscription } = toJson(result.rows[0]);
    return { subscription, version: version as number };
  }

  /** The full state (sealed secret included) for the other services' cache misses; deleted ones say so. */
  async getSubscriptionState(id: string): Promise<(SubscriptionState & { deleted: boolean }) | undefined> {
    const result = await this.pool.query(
      `SELECT ${SUBSCRIPTION_STATE_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM subscriptions WHERE id = $1`,
      [id],
    );
    return result.rows[0] ? (toJson(result.rows[0]) as SubscriptionState & { deleted: boolean }) : undefined;
  }

  /** An application's full state for the command side's cache misses; deleted ones say so. */
  async getApplicationState(id: string): Promise<(ApplicationState & { deleted: boolean }) | undefined> {
    const result = await this.pool.query(`SELECT ${APPLICATION_STATE_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM applications WHERE id = $1`, [id]);
    return result.rows[0] ? (toJson(result.rows[0]) as ApplicationState & { deleted: boolean }) : undefined;
  }

  /** The live application with this uid (the oldest, should two ever share one), if any. */
  async applicationIdByUid(uid: string): Promise<string | undefined> {
    const result = await this.pool.query<{ id: string }>(
      'SELECT id FROM applications WHERE uid = $1 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1',
      [uid],
    );
    return result.rows[0]?.id;
  }

  async getEventTypeState(name: string): Promise<(EventTypeState & { deleted: boolean }) | undefined> {
    const result = await this.pool.query(`SELECT ${EVENT_TYPE_STATE_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM event_types WHERE id = $1`, [name]);
    return result.rows[0] ? (toJson(result.rows[0]) as EventTypeState & { deleted: boolean }) : undefined;
  }

  /** Every live endpoint of an application, full state (sealed secrets): what the dispatcher fans a message out to. */
  async endpointStatesOf(appId: string): Promise<SubscriptionState[]> {
    const result = await this.pool.query(
      `SELECT ${SUBSCRIPTION_STATE_COLUMNS} FROM subscriptions WHERE app_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
      [appId],
    );
    return result.rows.map((row) => toJson(row) as SubscriptionState);
  }

  /** The live endpoint of an application with this uid, if any. */
  async endpointIdByUid(appId: string, uid: string): Promise<string | undefined> {
    const result = await this.pool.query<{ id: string }>(
      'SELECT id FROM subscriptions WHERE app_id = $1 AND uid = $2 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1',
      [appId, uid],
    );
    return result.rows[0]?.id;
  }

  async searchDeliveries(search: DeliverySearch): Promise<Page<Record<string, unknown> & { id: string; created_at: unknown }>> {
    // A delivery becomes visible with its WebhookReceived event; attempt events may be projected before it.
    const where: string[] = [DELIVERY_BORN];
    const params: unknown[] = [];
    const add = (clause: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (search.app_id) add((p) => `s.app_id = ${p}::uuid`, search.app_id);
    if (search.subscription_id) add((p) => `d.subscription_id = ${p}::uuid`, search.subscription_id);
    if (search.status) add((p) => `d.status = ${p}`, search.status);
    if (search.event_type) add((p) => `d.event_type = ${p}`, search.event_type);
    // The deliveries whose own payload matches and those whose message's does, each found by its GIN index (a
    // delivery's own, a message's) and then looked up by id. Written as one OR over the join, as it was, neither
    // index could serve it: it read both tables whole.
    if (search.payload_contains) {
      add(
        (p) => `d.id IN (SELECT id FROM webhook_deliveries WHERE payload @> ${p}::jsonb
                         UNION ALL SELECT w.id FROM messages x JOIN webhook_deliveries w ON w.message_id = x.id WHERE x.payload @> ${p}::jsonb)`,
        JSON.stringify(search.payload_contains),
      );
    }
    if (search.created_after) add((p) => `d.created_at >= ${p}::timestamptz`, search.created_after);
    if (search.created_before) add((p) => `d.created_at < ${p}::timestamptz`, search.created_before);
    if (search.cursor) {
      params.push(search.cursor.created_at, search.cursor.id);
      where.push(`(d.created_at, d.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(search.limit + 1);
    const result = await this.pool.query(
      `SELECT ${DELIVERY_COLUMNS} FROM ${DELIVERIES} WHERE ${where.join(' AND ')}
       ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length}`,
      params,
    );
    return page(result.rows, search.limit);
  }

  /**
   * Deliveries waiting for an attempt that was due before `dueBefore`, by id after `afterId`: what the
   * dispatcher's reconciler re-schedules when RabbitMQ lost them. That is every `retrying` delivery past its
   * next attempt time, and every `pending` one that has a next attempt time at all: its first attempt was
   * deferred into RabbitMQ (DeliveryDeferred), while other pending deliveries are still Kafka's to deliver.
   * Served by the status index (few rows are retrying or deferred at any time); only rows whose
   * WebhookReceived is in (payload present, or gone past its retention: then the job ends the delivery) count.
   * A held delivery is not overdue, whatever its time: it waits for its endpoint to be resumed (which releases
   * it, due at once).
   */
  async overdueRetries(options: { dueBefore: string; afterId?: string; limit: number }): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query(
      `SELECT d.id, d.subscription_id, d.message_id, d.event_type, COALESCE(d.payload, m.payload) AS payload,
              COALESCE(d.payload_expires_at, m.payload_expires_at) AS payload_expires_at, d.created_at, d.attempt_count,
              d.next_attempt_at, d.last_status_code, d.last_error
       FROM ${DELIVERIES}
       WHERE d.status IN ($1, $2) AND d.next_attempt_at < $3::timestamptz
         AND (COALESCE(d.payload, m.payload) IS NOT NULL OR COALESCE(d.payload_expires_at, m.payload_expires_at) IS NOT NULL) AND d.id > $4::uuid
         AND NOT ${DELIVERY_HELD} AND NOT d.ordered
       ORDER BY d.id LIMIT $5`,
      [
        'retrying' satisfies DeliveryStatus,
        'pending' satisfies DeliveryStatus,
        options.dueBefore,
        options.afterId ?? '00000000-0000-0000-0000-000000000000',
        options.limit,
      ],
    );
    return result.rows.map(toJson);
  }

  /**
   * An endpoint's held deliveries, by id after `afterId`, with what their jobs need (as overdueRetries) and the
   * hold each release names: what the dispatcher releases when the endpoint is resumed, or cancels when it is
   * deleted. Served by the partial index of deliveries ever held.
   */
  async heldDeliveries(options: { subscriptionId: string; afterId?: string; limit: number }): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query(
      `SELECT d.id, d.subscription_id, d.message_id, d.event_type, COALESCE(d.payload, m.payload) AS payload, d.created_at, d.attempt_count,
              d.next_attempt_at, d.last_status_code, d.last_error, d.held_at
       FROM ${DELIVERIES}
       WHERE d.subscription_id = $1 AND d.hold_seq IS NOT NULL AND d.status IN ('pending', 'retrying') AND d.id > $2::uuid AND ${DELIVERY_HELD}
         AND NOT d.ordered
       ORDER BY d.id LIMIT $3`,
      [options.subscriptionId, options.afterId ?? '00000000-0000-0000-0000-000000000000', options.limit],
    );
    return result.rows.map(toJson);
  }

  /**
   * Where a delivery of a lane stands (ordered endpoints: the lane reads it before each attempt of its head):
   * its status, attempts so far, when the next is due, whether it is held, and why an operator skipped it if one
   * did (skip_reason). Undefined: not in the read model.
   */
  async laneDelivery(id: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.pool.query(
      `SELECT d.id, d.status, d.attempt_count, d.next_attempt_at, d.last_status_code, d.last_error, ${DELIVERY_HELD} AS held, d.held_at,
              CASE WHEN s.head_skip->>'delivery_id' = d.id::text THEN s.head_skip->>'reason' END AS skip_reason
       FROM webhook_deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
      [id],
    );
    return result.rows[0] ? toJson(result.rows[0]) : undefined;
  }

  /** The endpoints whose lanes still have deliveries to send (what a starting dispatcher consumes), at most `limit`. */
  async lanesWithWork(limit: number): Promise<string[]> {
    const result = await this.pool.query<{ subscription_id: string }>(
      `SELECT DISTINCT subscription_id FROM webhook_deliveries WHERE ordered AND status IN ('pending', 'retrying') LIMIT $1`,
      [limit],
    );
    return result.rows.map((row) => String(row.subscription_id));
  }

  /**
   * An endpoint's unfinished laned deliveries in lane order (the head first, then by creation), with what their
   * jobs need (as overdueRetries) and whether each is held: what the dispatcher puts in a lane again when the
   * lane stopped moving (RabbitMQ lost it).
   */
  async laneBacklog(subscriptionId: string, after: { created_at: string; id: string } | undefined, limit: number): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query(
      `SELECT d.id, d.subscription_id, d.message_id, d.event_type, COALESCE(d.payload, m.payload) AS payload,
              COALESCE(d.payload_expires_at, m.payload_expires_at) AS payload_expires_at, d.created_at, d.attempt_count,
              d.next_attempt_at, d.last_status_code, d.last_error, ${DELIVERY_HELD} AS held
       FROM ${DELIVERIES}
       WHERE d.subscription_id = $1 AND d.ordered AND d.status IN ('pending', 'retrying')
         AND (d.created_at, d.id) > ($2::timestamptz, $3::uuid)
       ORDER BY d.created_at, d.id LIMIT $4`,
      [subscriptionId, after?.created_at ?? '-infinity', after?.id ?? '00000000-0000-0000-0000-000000000000', limit],
    );
    return result.rows.map(toJson);
  }

  /**
   * The head of an endpoint's lane as the read model sees it: of its unfinished laned deliveries, the one
   * attempted (or held) already, else the oldest; every one before it in the lane has ended.
   */
  async laneHead(subscriptionId: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.pool.query(
      `SELECT d.id, d.subscription_id, d.message_id, d.event_type, d.created_at, d.attempt_count, d.last_status_code, d.last_error
       FROM webhook_deliveries d
       WHERE d.subscription_id = $1 AND d.ordered AND d.status IN ('pending', 'retrying')
       ORDER BY (d.attempt_count > 0 OR d.hold_seq IS NOT NULL) DESC, d.created_at, d.id LIMIT 1`,
      [subscriptionId],
    );
    return result.rows[0] ? toJson(result.rows[0]) : undefined;
  }

  async getDelivery(id: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.pool.query(`SELECT ${DELIVERY_COLUMNS} FROM ${DELIVERIES} WHERE d.id = $1 AND ${DELIVERY_BORN}`, [id]);
    return result.rows[0] ? toJson(result.rows[0]) : undefined;
  }

  /**
   * Seconds since the oldest delivery still pending or retrying was received; 0 when there is none. One
   * index lookup per status (webhook_deliveries_status_created_idx), so it is cheap on every scrape.
   */
  async oldestUnfinishedDeliveryAgeSeconds(): Promise<number> {
    const result = await this.pool.query<{ age: number | null }>(OLDEST_UNFINISHED_DELIVERY_AGE_SQL);
    return Math.max(0, result.rows[0]?.age ?? 0);
  }

  async listAttempts(deliveryId: string): Promise<Record<string, unknown>[]> {
    const result = await this.pool.query(
      `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt_number`,
      [deliveryId],
    );
    return result.rows.map(toJson);
  }
}
