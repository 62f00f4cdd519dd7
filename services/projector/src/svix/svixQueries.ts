import type { Pool } from 'pg';
import { type ApplicationState, type BackgroundTaskKind, type BackgroundTaskRow, type BackgroundTaskStatus, type DeliveryStatus, type EventTypeState, type FilteredReason, type SubscriptionState } from '@hookpost/contracts';
import { APPLICATION_STATE_COLUMNS, EVENT_TYPE_STATE_COLUMNS, SUBSCRIPTION_STATE_COLUMNS } from '../adapters/pgProjectionWriter';
import { deliveryHeldSql } from '../adapters/pgReadQueries';

/**
 * The read queries of the Svix-compatible API. Lists are keyset pages over the id (packages/contracts
 * svix/list.ts keysetOf): ids are time-ordered UUIDs, so id order is creation order. Each returns up to
 * `take` rows; the caller shapes Svix's list envelope (listResponse).
 */

export type Keyset = { walk: 'asc' | 'desc'; from?: string; take: number; before?: string; after?: string };

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
  /** The keyset's position, time bounds, order and size over the `id` column (`created`: the row's time). */
  keyset(keyset: Keyset, id: string, created: string): string {
    if (keyset.from !== undefined) this.add((p) => `${id} ${keyset.walk === 'asc' ? '>' : '<'} ${p}::uuid`, keyset.from);
    if (keyset.before) this.add((p) => `${created} < ${p}::timestamptz`, keyset.before);
    if (keyset.after) this.add((p) => `${created} > ${p}::timestamptz`, keyset.after);
    this.params.push(keyset.take);
    return `WHERE ${this.text()} ORDER BY ${id} ${keyset.walk === 'asc' ? 'ASC' : 'DESC'} LIMIT $${this.params.length}`;
  }
}

export type FilteredEndpointRow = { subscription_id: string; reason: FilteredReason; detail: string; routed_at: string };

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

  async listApplications(keyset: Keyset): Promise<ApplicationState[]> {
    const where = new Where().raw('deleted_at IS NULL');
    const tail = where.keyset(keyset, 'id', 'created_at');
    const result = await this.pool.query(`SELECT ${APPLICATION_STATE_COLUMNS} FROM applications ${tail}`, where.params);
    return result.rows.map((row) => toJson<ApplicationState>(row));
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

  async listEndpoints(appId: string, keyset: Keyset): Promise<SubscriptionState[]> {
    const where = new Where().raw('deleted_at IS NULL').add((p) => `app_id = ${p}::uuid`, appId);
    const tail = where.keyset(keyset, 'id', 'created_at');
    const result = await this.pool.query(`SELECT ${SUBSCRIPTION_STATE_COLUMNS} FROM subscriptions ${tail}`, where.params);
    return result.rows.map((row) => toJson<SubscriptionState>(row));
  }

  /** Deliveries to an endpoint by status, received within [since, until) when given. */
  async endpointStats(endpointId: string, window: { since?: string; until?: string } = {}): Promise<Record<DeliveryStatus, number>> {
    const where = new Where().add((p) => `subscription_id = ${p}::uuid`, endpointId);
    if (window.since) where.add((p) => `created_at >= ${p}::timestamptz`, window.since);
    if (window.until) where.add((p) => `created_at < ${p}::timestamptz`, window.until);
    const result = await this.pool.query<{ status: DeliveryStatus; count: string }>(
      `SELECT status, count(*) AS count FROM webhook_deliveries WHERE ${where.text()} GROUP BY status`,
      where.params,
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
  /** Event types page by name (their id), forward only. */
  async listEventTypes(keyset: Keyset, includeArchived: boolean): Promise<EventTypeState[]> {
    const where = new Where().raw('deleted_at IS NULL');
    if (!includeArchived) where.raw('NOT archived');
    if (keyset.from !== undefined) where.add((p) => `id ${keyset.walk === 'asc' ? '>' : '<'} ${p}`, keyset.from);
    where.params.push(keyset.take);
    const result = await this.pool.query(
      `SELECT ${EVENT_TYPE_STATE_COLUMNS} FROM event_types WHERE ${where.text()} ORDER BY id ${keyset.walk === 'asc' ? 'ASC' : 'DESC'} LIMIT $${where.params.length}`,
      where.params,
    );
    return result.rows.map((row) => toJson<EventTypeState>(row));
  }

  async message(appId: string, ref: { kind: 'id'; id: string } | { kind: 'uid'; uid: string }): Promise<MessageRow | undefined> {
    const result =
      ref.kind === 'id'
        ? await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND app_id = $2`, [ref.id, appId])
        : await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE event_id = $1 AND app_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, [ref.uid, appId]);
    return result.rows[0] ? toJson<MessageRow>(result.rows[0]) : undefined;
  }

  async listMessages(appId: string, keyset: Keyset, filter: MessageFilter): Promise<MessageRow[]> {
    const where = new Where().add((p) => `app_id = ${p}::uuid`, appId);
    messageFilter(where, filter, '');
    const tail = where.keyset(keyset, 'id', 'created_at');
    const result = await this.pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages ${tail}`, where.params);
    return result.rows.map((row) => toJson<MessageRow>(row));
  }

  /** Attempts, newest first, of one endpoint or one message (or both), with what the API shows of each. */
  async listAttempts(appId: string, scope: { endpointId?: string; messageId?: string }, keyset: Keyset, filter: AttemptFilter): Promise<AttemptRow[]> {
    const where = new Where().add((p) => `m.app_id = ${p}::uuid`, appId);
    if (scope.endpointId) where.add((p) => `d.subscription_id = ${p}::uuid`, scope.endpointId);
    if (scope.messageId) where.add((p) => `d.message_id = ${p}::uuid`, scope.messageId);
    if (filter.succeeded !== undefined) where.raw(filter.succeeded ? 'a.status_code BETWEEN 200 AND 299' : '(a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299)');
    if (filter.statusCodeClass !== undefined) {
      if (filter.statusCodeClass === 0) where.raw('a.status_code IS NULL');
      else where.add((p) => `a.status_code / 100 = ${p}::int / 100`, filter.statusCodeClass);
    }
    messageFilter(where, filter, 'm.');
    const tail = where.keyset(keyset, 'a.id', 'a.created_at');
    const result = await this.pool.query(
      `${ATTEMPTS_SELECT}
       ${tail}`,
      where.params,
    );
    return result.rows.map((row) => toJson<AttemptRow>(row));
  }

  async attempt(appId: string, messageId: string, attemptId: string): Promise<AttemptRow | undefined> {
    const result = await this.pool.query(
      `${ATTEMPTS_SELECT}
       WHERE a.id = $1 AND d.message_id = $2 AND m.app_id = $3`,
      [attemptId, messageId, appId],
    );
    return result.rows[0] ? toJson<AttemptRow>(result.rows[0]) : undefined;
  }

  /** The endpoints a message was routed to, each with its delivery's status (list-attempted-destinations). */
  /** Paged by endpoint id (a message has one delivery of its own per endpoint). */
  async listDestinations(messageId: string, keyset: Keyset): Promise<(SubscriptionState & { delivery: DeliveryRow })[]> {
    const where = new Where().add((p) => `d.message_id = ${p}::uuid`, messageId).raw('NOT d.manual');
    const tail = where.keyset(keyset, 'd.subscription_id', 'd.created_at');
    const columns = SUBSCRIPTION_STATE_COLUMNS.split(', ').map((column) => `s.${column}`).join(', ');
    // One row per endpoint the message was routed to; a later resend's delivery, if any, says where it stands.
    const result = await this.pool.query(
      `SELECT ${columns}, d.id AS delivery_id, COALESCE(r.status, d.status) AS delivery_status,
              ${NEXT_ATTEMPT} AS delivery_next_attempt_at, d.created_at AS delivery_created_at
       FROM webhook_deliveries d JOIN subscriptions s ON s.id = d.subscription_id
       ${LATEST_RESEND} ${tail}`,
      where.params,
    );
    return result.rows.map((row) => {
      const { delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at, ...endpoint } = toJson<Record<string, unknown>>(row);
      return { ...(endpoint as SubscriptionState), delivery: deliveryOf(delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at) };
    });
  }

  /** The endpoints whose payload filter kept a message from them, with why (list-filtered-endpoints), paged by endpoint id. */
  async listFilteredEndpoints(messageId: string, keyset: Keyset): Promise<FilteredEndpointRow[]> {
    const where = new Where().add((p) => `message_id = ${p}::uuid`, messageId);
    const tail = where.keyset(keyset, 'subscription_id', 'routed_at');
    const result = await this.pool.query(`SELECT subscription_id, reason, detail, routed_at FROM message_filtered_endpoints ${tail}`, where.params);
    return result.rows.map((row) => toJson<FilteredEndpointRow>(row));
  }

  /**
   * Messages to deliver again to an endpoint, a page at a time in (created_at, id) order: `recover`, those whose
   * latest delivery to it failed; `replay_missing`, those of its application it never got. Within [since, until).
   */
  async redeliverable(options: { kind: 'recover' | 'replay_missing'; appId: string; endpointId: string; since: string; until: string | null; after?: { created_at: string; id: string }; limit: number }): Promise<StoredMessageRow[]> {
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
        ? `(SELECT status FROM webhook_deliveries d WHERE d.message_id = m.id AND d.subscription_id = ${endpoint} ORDER BY d.manual DESC, d.updated_at DESC LIMIT 1) = 'failed'`
        : `NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id AND d.subscription_id = ${endpoint})`,
    );
    where.params.push(options.limit);
    const result = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ')}, m.payload_expires_at FROM messages m
       WHERE ${where.text()} ORDER BY m.created_at, m.id LIMIT $${where.params.length}`,
      where.params,
    );
    return result.rows.map((row) => toJson<StoredMessageRow>(row));
  }

  /** A background task (shown once its request is projected), with where the dispatcher carries on from. */
  async task(id: string): Promise<(BackgroundTaskRow & { checkpoint: number | null; position: string | null }) | undefined> {
    const result = await this.pool.query(`SELECT ${TASK_COLUMNS}, checkpoint, position FROM background_tasks WHERE id = $1 AND kind IS NOT NULL`, [id]);
    return result.rows[0] ? taskOf<BackgroundTaskRow & { checkpoint: number | null; position: string | null }>(result.rows[0]) : undefined;
  }

  /** Background tasks by id (time-ordered: creation order), of one application when given. */
  async listTasks(keyset: Keyset, filter: { appId?: string; statuses?: BackgroundTaskStatus[]; kind?: BackgroundTaskKind }): Promise<BackgroundTaskRow[]> {
    const where = new Where().raw('kind IS NOT NULL');
    if (filter.appId) where.add((p) => `app_id = ${p}::uuid`, filter.appId);
    if (filter.statuses) where.add((p) => `status = ANY(${p}::text[])`, filter.statuses);
    if (filter.kind) where.add((p) => `kind = ${p}`, filter.kind);
    const tail = where.keyset(keyset, 'id', 'created_at');
    const result = await this.pool.query(`SELECT ${TASK_COLUMNS} FROM background_tasks ${tail}`, where.params);
    return result.rows.map((row) => taskOf<BackgroundTaskRow>(row));
  }

  /** Which of these messages had their content expunged (a replay from the log leaves them out). */
  async expunged(ids: string[]): Promise<string[]> {
    const result = await this.pool.query<{ id: string }>(`SELECT id FROM content_expunges WHERE kind = 'message' AND id = ANY($1::uuid[])`, [ids]);
    return result.rows.map((row) => row.id);
  }

  /** A message by id, whichever application it belongs to (the dispatcher's resend). */
  async messageById(id: string): Promise<StoredMessageRow | undefined> {
    const result = await this.pool.query(`SELECT ${MESSAGE_COLUMNS}, payload_expires_at FROM messages WHERE id = $1`, [id]);
    return result.rows[0] ? toJson<StoredMessageRow>(result.rows[0]) : undefined;
  }

  /** The messages routed to an endpoint, each with its delivery's status (list-attempted-messages). */
  /** Paged by message id (an endpoint has one delivery of its own per message). */
  async listEndpointMessages(endpointId: string, keyset: Keyset, filter: MessageFilter & { status?: DeliveryStatus[] }): Promise<(MessageRow & { delivery: DeliveryRow })[]> {
    const where = new Where().add((p) => `d.subscription_id = ${p}::uuid`, endpointId).raw('NOT d.manual');
    if (filter.status) where.add((p) => `COALESCE(r.status, d.status) = ANY(${p}::text[])`, filter.status);
    messageFilter(where, filter, 'm.');
    const tail = where.keyset(keyset, 'd.message_id', 'd.created_at');
    // One row per message routed to the endpoint; a later resend's delivery, if any, says where it stands.
    const result = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ')}, d.id AS delivery_id, COALESCE(r.status, d.status) AS delivery_status,
              ${NEXT_ATTEMPT} AS delivery_next_attempt_at, d.created_at AS delivery_created_at
       FROM webhook_deliveries d JOIN messages m ON m.id = d.message_id
       ${LATEST_RESEND} ${tail}`,
      where.params,
    );
    return result.rows.map((row) => {
      const { delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at, ...message } = toJson<Record<string, unknown>>(row);
      return { ...(message as MessageRow), delivery: deliveryOf(delivery_id, delivery_status, delivery_next_attempt_at, delivery_created_at) };
    });
  }
}

/**
 * `r`: the latest delivery asked for again (resend, recover, replay) of `d`'s message to `d`'s endpoint, if any:
 * where the pair stands is that delivery's status when there is one, else `d`'s own.
 */
const LATEST_RESEND = `LEFT JOIN LATERAL (
         SELECT status, ${deliveryHeldSql('r')} AS held, next_attempt_at FROM webhook_deliveries r
         WHERE r.message_id = d.message_id AND r.subscription_id = d.subscription_id AND r.manual
         ORDER BY r.updated_at DESC LIMIT 1
       ) r ON true`;

/** The next attempt of the pair `d`/`r` (LATEST_RESEND): none while the delivery that says where it stands is held. */
const NEXT_ATTEMPT = `CASE WHEN COALESCE(r.held, ${deliveryHeldSql('d')}) THEN NULL ELSE COALESCE(r.next_attempt_at, d.next_attempt_at) END`;

/** An attempt with its delivery's message and endpoint, as the attempt lists and the attempt read show it. */
const ATTEMPTS_SELECT = `SELECT a.id, a.created_at, a.status_code, a.duration_ms, a.error, a.response_body, a.attempt_number, a.delivery_id,
       d.message_id, d.subscription_id, d.manual, s.target_url,
       ${'id, app_id, event_type, event_id, channels, tags, payload, created_at'.split(', ').map((column) => `m.${column} AS msg_${column}`).join(', ')}
  FROM delivery_attempts a
  JOIN webhook_deliveries d ON d.id = a.delivery_id
  JOIN messages m ON m.id = d.message_id
  JOIN subscriptions s ON s.id = d.subscription_id`;

function deliveryOf(id: unknown, status: unknown, nextAttemptAt: unknown, createdAt: unknown): DeliveryRow {
  return { id: String(id), status: status as DeliveryStatus, next_attempt_at: (nextAttemptAt as string | null) ?? null, created_at: String(createdAt) };
}

const MESSAGE_COLUMNS = 'id, app_id, event_type, event_id, channels, tags, payload, created_at, deliver_at';
const TASK_COLUMNS =
  'id, app_id, subscription_id, kind, status, since, until, event_types, channel, messages_scanned, messages_sent, progress, reason, created_at, updated_at, finished_at';

function taskOf<T extends BackgroundTaskRow>(row: Record<string, unknown>): T {
  const task = toJson<T>(row);
  // (bigint columns come back as text)
  return { ...task, messages_scanned: Number(task.messages_scanned), messages_sent: Number(task.messages_sent) };
}
export type MessageRow = { id: string; app_id: string; event_type: string; event_id: string | null; channels: string[] | null; tags: string[] | null; payload: object | null; created_at: string; deliver_at: string | null };
/** What the dispatcher's redeliveries read: with when a sealed payload expires (its bucket), null for a plain one. */
export type StoredMessageRow = MessageRow & { payload_expires_at: string | null };
export type AttemptRow = {
  id: string;
  created_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  attempt_number: number;
  message_id: string;
  delivery_id: string;
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

