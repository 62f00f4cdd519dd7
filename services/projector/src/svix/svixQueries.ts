import type { Pool } from 'pg';
import { type ApplicationState, type DeliveryStatus, type EventTypeState, type SubscriptionState } from '@hookpost/contracts';
import { APPLICATION_STATE_COLUMNS, EVENT_TYPE_STATE_COLUMNS, SUBSCRIPTION_STATE_COLUMNS } from '../adapters/pgProjectionWriter';
import { encodeCursor, type Cursor } from '../adapters/pgReadQueries';

/**
 * The read queries of the Svix-compatible API. Lists page by (created_at, id), each served by an index the
 * migrations create; `iterator` is the last row's position, in the same strict form as the seed API's cursor.
 */

export type Order = 'ascending' | 'descending';
export type Window = { limit: number; iterator?: Cursor; order: Order; before?: string; after?: string };
export type ListPage<T> = { data: T[]; iterator: string | null; prevIterator: string | null; done: boolean };

function iso(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}
function toJson<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = iso(value);
  return out as T;
}

/** Builds WHERE clauses with numbered parameters. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(clause: (p: string) => string, value: unknown): this {
    this.params.push(value);
    this.clauses.push(clause(`$${this.params.length}`));
    return this;
  }
  raw(clause: string): this {
    this.clauses.push(clause);
    return this;
  }
  text(): string {
    return this.clauses.length > 0 ? this.clauses.join(' AND ') : 'true';
  }
  /** The window's position, time bounds, order and limit over `created` and `id` columns. */
  window(window: Window, created: string, id: string): string {
    const descending = window.order === 'descending';
    if (window.iterator) {
      this.params.push(window.iterator.created_at, window.iterator.id);
      const n = this.params.length;
      this.clauses.push(`(${created}, ${id}) ${descending ? '<' : '>'} ($${n - 1}::timestamptz, $${n}::uuid)`);
    }
    if (window.before) this.add((p) => `${created} < ${p}::timestamptz`, window.before);
    if (window.after) this.add((p) => `${created} > ${p}::timestamptz`, window.after);
    this.params.push(window.limit + 1);
    const direction = descending ? 'DESC' : 'ASC';
    return `WHERE ${this.text()} ORDER BY ${created} ${direction}, ${id} ${direction} LIMIT $${this.params.length}`;
  }
}

function pageOf<R extends Record<string, unknown>, T>(rows: R[], window: Window, view: (row: R) => T, position: (row: R) => Cursor): ListPage<T> {
  const done = rows.length <= window.limit;
  const kept = rows.slice(0, window.limit);
  const last = kept[kept.length - 1];
  const first = kept[0];
  return {
    data: kept.map(view),
    iterator: last ? encodeCursor(position(last)) : (window.iterator ? encodeCursor(window.iterator) : null),
    prevIterator: first ? encodeCursor(position(first)) : null,
    done,
  };
}

const positionOf = (row: Record<string, unknown>): Cursor => ({ created_at: String(iso(row.created_at)), id: String(row.id) });

export type DeliveryRow = { id: string; status: DeliveryStatus; next_attempt_at: string | null; created_at: string };

export class PgSvixQueries {
  constructor(private readonly pool: Pool) {}

  /** The live application an id or uid names. */
  async application(ref: { kind: 'id'; id: string } | { kind: 'uid'; uid: string }): Promise<ApplicationState | undefined> {
    const result =
      ref.kind === 'id'
        ? await this.pool.query(`SELECT ${APPLICATION_STATE_COLUMNS} FROM applications WHERE id = $1 AND deleted_at IS NULL`, [ref.id])
        : await this.pool.query(`SELECT ${APPLICATION_STATE_COLUMNS} FROM applications WHERE uid = $1 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1`, [ref.uid]);
    return result.rows[0] ? toJson<ApplicationState>(result.rows[0]) : undefined;
  }

  async listApplications(window: Window): Promise<ListPage<ApplicationState>> {
    const where = new Where().raw('deleted_at IS NULL');
    const tail = where.window(window, 'created_at', 'id');
    const result = await this.pool.query(`SELECT ${APPLICATION_STATE_COLUMNS} FROM applications ${tail}`, where.params);
    return pageOf(result.rows, window, (row) => toJson<ApplicationState>(row), positionOf);
  }

  /** The live endpoint of the application an id or uid names. */
  async endpoint(appId: string, ref: { kind: 'id'; id: string } | { kind: 'uid'; uid: string }): Promise<SubscriptionState | undefined> {
    const result =
      ref.kind === 'id'
        ? await this.pool.query(`SELECT ${SUBSCRIPTION_STATE_COLUMNS} FROM subscriptions WHERE id = $1 AND app_id = $2 AND deleted_at IS NULL`, [ref.id, appId])
        : await this.pool.query(
            `SELECT ${SUBSCRIPTION_STATE_COLUMNS} FROM subscriptions WHERE uid = $1 AND app_id = $2 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1`,
            [ref.uid, appId],
          );
    return result.rows[0] ? toJson<SubscriptionState>(result.rows[0]) : undefined;
  }

  async listEndpoints(appId: string, window: Window): Promise<ListPage<SubscriptionState>> {
    const where = new Where().raw('deleted_at IS NULL').add((p) => `app_id = ${p}::uuid`, appId);
    const tail = where.window(window, 'created_at', 'id');
    const result = await this.pool.query(`SELECT ${SUBSCRIPTION_STATE_COLUMNS} FROM subscriptions ${tail}`, where.params);
    return pageOf(result.rows, window, (row) => toJson<SubscriptionState>(row), positionOf);
  }

  async endpointStats(endpointId: string): Promise<Record<DeliveryStatus, number>> {
    const result = await this.pool.query<{ status: DeliveryStatus; count: string }>(
      `SELECT status, count(*) AS count FROM webhook_deliveries WHERE subscription_id = $1 GROUP BY status`,
      [endpointId],
    );
    const counts: Record<DeliveryStatus, number> = { pending: 0, retrying: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const row of result.rows) counts[row.status] = Number(row.count);
    return counts;
  }

  async eventType(name: string): Promise<EventTypeState | undefined> {
    const result = await this.pool.query(`SELECT ${EVENT_TYPE_STATE_COLUMNS} FROM event_types WHERE id = $1 AND deleted_at IS NULL`, [name]);
    return result.rows[0] ? toJson<EventTypeState>(result.rows[0]) : undefined;
  }

  /** Event types by name (they have no UUID: the iterator's id part is unused, names page by themselves). */
  async listEventTypes(options: { limit: number; after?: string; order: Order; includeArchived: boolean }): Promise<ListPage<EventTypeState>> {
    const where = new Where().raw('deleted_at IS NULL');
    if (!options.includeArchived) where.raw('NOT archived');
    const descending = options.order === 'descending';
    if (options.after !== undefined) where.add((p) => `id ${descending ? '<' : '>'} ${p}`, options.after);
    where.params.push(options.limit + 1);
    const result = await this.pool.query(
      `SELECT ${EVENT_TYPE_STATE_COLUMNS} FROM event_types WHERE ${where.text()} ORDER BY id ${descending ? 'DESC' : 'ASC'} LIMIT $${where.params.length}`,
      where.params,
    );
    const done = result.rows.length <= options.limit;
    const kept = result.rows.slice(0, options.limit).map((row) => toJson<EventTypeState>(row));
    return { data: kept, iterator: kept.length > 0 ? kept[kept.length - 1]!.id : (options.after ?? null), prevIterator: kept[0]?.id ?? null, done };
  }

  async message(appId: string, ref: { kind: 'id'; id: string } | { kind: 'uid'; uid: string }): Promise<MessageRow | undefined> {
    const result =
      ref.kind === 'id'
        ? await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND app_id = $2`, [ref.id, appId])
        : await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE event_id = $1 AND app_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, [ref.uid, appId]);
    return result.rows[0] ? toJson<MessageRow>(result.rows[0]) : undefined;
  }

  async listMessages(appId: string, window: Window, filter: MessageFilter): Promise<ListPage<MessageRow>> {
    const where = new Where().add((p) => `app_id = ${p}::uuid`, appId);
    messageFilter(where, filter, '');
    const tail = where.window(window, 'created_at', 'id');
    const result = await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages ${tail}`, where.params);
    return pageOf(result.rows, window, (row) => toJson<MessageRow>(row), positionOf);
  }

  /** Attempts, newest first, of one endpoint or one message (or both), with what the API shows of each. */
  async listAttempts(appId: string, scope: { endpointId?: string; messageId?: string }, window: Window, filter: AttemptFilter): Promise<ListPage<AttemptRow>> {
    const where = new Where().add((p) => `m.app_id = ${p}::uuid`, appId);
    if (scope.endpointId) where.add((p) => `d.subscription_id = ${p}::uuid`, scope.endpointId);
    if (scope.messageId) where.add((p) => `d.message_id = ${p}::uuid`, scope.messageId);
    if (filter.succeeded !== undefined) where.raw(filter.succeeded ? 'a.status_code BETWEEN 200 AND 299' : '(a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299)');
    if (filter.statusCodeClass !== undefined) {
      if (filter.statusCodeClass === 0) where.raw('a.status_code IS NULL');
      else where.add((p) => `a.status_code / 100 = ${p}::int / 100`, filter.statusCodeClass);
    }
    messageFilter(where, filter, 'm.');
    const tail = where.window(window, 'a.created_at', 'a.id');
    const result = await this.pool.query(
      `SELECT a.id, a.created_at, a.status_code, a.duration_ms, a.error, a.response_body, a.attempt_number, d.message_id, d.subscription_id,
              d.manual, s.target_url, ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column} AS msg_${column}`).join(', ')}
       FROM delivery_attempts a
       JOIN webhook_deliveries d ON d.id = a.delivery_id
       JOIN messages m ON m.id = d.message_id
       JOIN subscriptions s ON s.id = d.subscription_id
       ${tail}`,
      where.params,
    );
    return pageOf(result.rows, window, (row) => toJson<AttemptRow>(row), positionOf);
  }

  async attempt(appId: string, messageId: string, attemptId: string): Promise<AttemptRow | undefined> {
    const result = await this.pool.query(
      `SELECT a.id, a.created_at, a.status_code, a.duration_ms, a.error, a.response_body, a.attempt_number, d.message_id, d.subscription_id,
              d.manual, s.target_url, ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column} AS msg_${column}`).join(', ')}
       FROM delivery_attempts a
       JOIN webhook_deliveries d ON d.id = a.delivery_id
       JOIN messages m ON m.id = d.message_id
       JOIN subscriptions s ON s.id = d.subscription_id
       WHERE a.id = $1 AND d.message_id = $2 AND m.app_id = $3`,
      [attemptId, messageId, appId],
    );
    return result.rows[0] ? toJson<AttemptRow>(result.rows[0]) : undefined;
  }

  /** The endpoints a message was routed to, each with its delivery's status (list-attempted-destinations). */
  async listDestinations(messageId: string, window: Window): Promise<ListPage<SubscriptionState & { delivery: DeliveryRow }>> {
    const where = new Where().add((p) => `d.message_id = ${p}::uuid`, messageId).raw('NOT d.manual');
    const tail = where.window(window, 'd.created_at', 'd.id');
    const columns = SUBSCRIPTION_STATE_COLUMNS.split(', ').map((column) => `s.${column}`).join(', ');
    // One row per endpoint the message was routed to; a later resend's delivery, if any, says where it stands.
    const result = await this.pool.query(
      `SELECT ${columns}, d.id AS delivery_id, COALESCE(r.status, d.status) AS delivery_status,
              COALESCE(r.next_attempt_at, d.next_attempt_at) AS delivery_next_attempt_at, d.created_at AS delivery_created_at
       FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id
       LEFT JOIN LATERAL (
         SELECT status, next_attempt_at FROM webhook_deliveries r
         WHERE r.message_id = d.message_id AND r.subscription_id = d.subscription_id AND r.manual
         ORDER BY r.updated_at DESC LIMIT 1
       ) r ON true ${tail}`,
      where.params,
    );
    return pageOf(
      result.rows,
      window,
      (row) => {
        const { delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at, ...endpoint } = toJson<Record<string, unknown>>(row);
        return { ...(endpoint as SubscriptionState), delivery: { id: String(delivery_id), status: delivery_status as DeliveryStatus, next_attempt_at: (delivery_next_attempt_at as string | null) ?? null, created_at: String(delivery_created_at) } };
      },
      (row) => ({ created_at: String(iso(row.delivery_created_at)), id: String(row.delivery_id) }),
    );
  }

  /**
   * Messages to deliver again to an endpoint, a page at a time in (created_at, id) order: `recover`, those whose
   * latest delivery to it failed; `replay_missing`, those of its application it never got. Within [since, until).
   */
  async redeliverable(options: { kind: 'recover' | 'replay_missing'; appId: string; endpointId: string; since: string; until: string | null; after?: { created_at: string; id: string }; limit: number }): Promise<MessageRow[]> {
    const where = new Where().add((p) => `m.app_id = ${p}::uuid`, options.appId).add((p) => `m.created_at >= ${p}::timestamptz`, options.since);
    if (options.until) where.add((p) => `m.created_at < ${p}::timestamptz`, options.until);
    if (options.after) {
      where.params.push(options.after.created_at, options.after.id);
      where.raw(`(m.created_at, m.id) > ($${where.params.length - 1}::timestamptz, $${where.params.length}::uuid)`);
    }
    where.params.push(options.endpointId);
    const endpoint = `$${where.params.length}::uuid`;
    where.raw(
      options.kind === 'recover'
        ? `(SELECT status FROM webhook_deliveries d WHERE d.message_id = m.id AND d.subscription_id = ${endpoint} ORDER BY d.manual, d.updated_at DESC LIMIT 1) = 'failed'`
        : `NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id AND d.subscription_id = ${endpoint})`,
    );
    where.params.push(options.limit);
    const result = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ')} FROM messages m
       WHERE ${where.text()} ORDER BY m.created_at, m.id LIMIT $${where.params.length}`,
      where.params,
    );
    return result.rows.map((row) => toJson<MessageRow>(row));
  }

  /** A message by id, whichever application it belongs to (the dispatcher's resend). */
  async messageById(id: string): Promise<MessageRow | undefined> {
    const result = await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [id]);
    return result.rows[0] ? toJson<MessageRow>(result.rows[0]) : undefined;
  }

  /** The messages routed to an endpoint, each with its delivery's status (list-attempted-messages). */
  async listEndpointMessages(endpointId: string, window: Window, filter: MessageFilter & { status?: DeliveryStatus[] }): Promise<ListPage<MessageRow & { delivery: DeliveryRow }>> {
    const where = new Where().add((p) => `d.subscription_id = ${p}::uuid`, endpointId).raw('NOT d.manual');
    if (filter.status) where.add((p) => `COALESCE(r.status, d.status) = ANY(${p}::text[])`, filter.status);
    messageFilter(where, filter, 'm.');
    const tail = where.window(window, 'd.created_at', 'd.id');
    // One row per message routed to the endpoint; a later resend's delivery, if any, says where it stands.
    const result = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ')}, d.id AS delivery_id, COALESCE(r.status, d.status) AS delivery_status,
              COALESCE(r.next_attempt_at, d.next_attempt_at) AS delivery_next_attempt_at, d.created_at AS delivery_created_at
       FROM webhook_deliveries d JOIN messages m ON m.id = d.message_id
       LEFT JOIN LATERAL (
         SELECT status, next_attempt_at FROM webhook_deliveries r
         WHERE r.message_id = d.message_id AND r.subscription_id = d.subscription_id AND r.manual
         ORDER BY r.updated_at DESC LIMIT 1
       ) r ON true ${tail}`,
      where.params,
    );
    return pageOf(
      result.rows,
      window,
      (row) => {
        const { delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at, ...message } = toJson<Record<string, unknown>>(row);
        return { ...(message as MessageRow), delivery: { id: String(delivery_id), status: delivery_status as DeliveryStatus, next_attempt_at: (delivery_next_attempt_at as string | null) ?? null, created_at: String(delivery_created_at) } };
      },
      (row) => ({ created_at: String(iso(row.delivery_created_at)), id: String(row.delivery_id) }),
    );
  }
}

const MESSAGE_COLUMNS = 'id, app_id, event_type, event_id, channels, tags, payload, created_at';
export type MessageRow = { id: string; app_id: string; event_type: string; event_id: string | null; channels: string[] | null; tags: string[] | null; payload: object | null; created_at: string };
export type AttemptRow = {
  id: string;
  created_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  attempt_number: number;
  message_id: string;
  delivery_id?: string;
  subscription_id: string;
  manual: boolean;
  target_url: string;
} & { [K in keyof MessageRow as `msg_${K}`]: MessageRow[K] };

export type MessageFilter = { eventTypes?: string[]; channel?: string; tag?: string };
export type AttemptFilter = MessageFilter & { succeeded?: boolean; statusCodeClass?: number };

function messageFilter(where: Where, filter: MessageFilter, alias: string): void {
  if (filter.eventTypes && filter.eventTypes.length > 0) where.add((p) => `${alias}event_type = ANY(${p}::text[])`, filter.eventTypes);
  if (filter.channel !== undefined) where.add((p) => `${p} = ANY(${alias}channels)`, filter.channel);
  if (filter.tag !== undefined) where.add((p) => `${p} = ANY(${alias}tags)`, filter.tag);
}

