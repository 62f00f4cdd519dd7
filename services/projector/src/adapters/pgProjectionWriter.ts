import type { Pool, PoolClient } from 'pg';
import {
  DEFAULT_APPLICATION_ID,
  isApplicationEvent,
  isEventTypeEvent,
  isSubscriptionEvent,
  knownFromRecord,
  knownOf,
  laterHoldSql,
  nextAttemptSql,
  supersedesSql,
  taskRankSql,
  type ApplicationState,
  type EntityRecord,
  type EventTypeState,
  type HookpostEvent,
  type Known,
  type KnownSubscription,
  type SubscriptionRecord,
  type SubscriptionState,
  type DeliveryRowChange,
} from '@hookpost/contracts';
import { payloadSubject, SealedPayloadError, type PayloadKeyring } from '@hookpost/platform';
import { projectEvents, type ReadModelChanges, type StoredEntities } from '../projection/readModelChanges';
import type { PgPayloadKeyStore } from './pgPayloadKeyStore';

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
  /** Applications and event types whose row changed, for their caches to follow. */
  applications?: Known<ApplicationState>[];
  eventTypes?: Known<EventTypeState>[];
};

/**
 * Writes a partition's batch of events into the read model in one transaction, together with the offset it
 * reached. Messages below the stored offset were applied before (a redelivery after a crash or rebalance)
 * and are skipped, so nothing is counted twice. Rows are written with one multi-row statement per table.
 */
/** Where committed delivery rows go for the dashboards' live view (redisLiveChanges.ts), while anyone watches. */
export type LiveChanges = { watched(): boolean; publish(deliveries: DeliveryRowChange[]): void };

/**
 * Claims a partition's batch: locks its stored offset, moves it past the batch (never back) and returns where it
 * stood, in one statement where a read and a write were two. Messages below the stored offset were applied before;
 * if none is above it, the transaction is rolled back and the offset with it.
 */
const CLAIM_OFFSETS = `WITH stored AS (SELECT next_offset FROM projector_offsets WHERE topic = $1 AND partition = $2 FOR UPDATE),
  claimed AS (
    -- (its rows come from the stored offset, so that is read, and locked, before the offset moves: read after, in
    -- the same statement, the moved row would be invisible and the stored one locked by ourselves, i.e. none)
    INSERT INTO projector_offsets AS o (topic, partition, next_offset)
    SELECT $1::text, $2::int, $3::bigint FROM (VALUES (1)) AS one LEFT JOIN stored ON true
    ON CONFLICT (topic, partition) DO UPDATE SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset)
  )
  SELECT next_offset AS stored FROM stored`;

/** The delivery row as it stands after the upsert, with its endpoint's application: what the live view is told. */
const CHANGED_DELIVERY_RETURNING = `RETURNING d.id, (SELECT s.app_id FROM subscriptions s WHERE s.id = d.subscription_id) AS app_id, d.subscription_id, d.message_id,
           d.event_type, d.status, d.attempt_count, d.next_attempt_at, d.last_status_code, d.created_at, d.updated_at,
           (d.payload IS NOT NULL OR d.message_id IS NOT NULL) AS born`;

export class PgProjectionWriter {
  constructor(
    private readonly pool: Pool,
    /** Opens sealed payloads for the read model and forgets an expunged message's key (payloadKeys.ts). */
    private readonly payloadKeys: { keyring: Pick<PayloadKeyring, 'open' | 'forget'>; store: Pick<PgPayloadKeyStore, 'forget'> },
    private readonly live?: LiveChanges,
  ) {}

  /**
   * The batch with each sealed payload opened into `payload` (kept sealed too: the projection reads its
   * expiry from it). One that no longer opens (expired, expunged: a rebuild, or a late event) is left without
   * a payload, and its row gets none.
   */
  private async opened(events: HookpostEvent[]): Promise<HookpostEvent[]> {
    return Promise.all(
      events.map(async (event) => {
        if (event.type !== 'MessageCreated' && event.type !== 'WebhookReceived') return event;
        const sealed = event.data.payload_sealed;
        if (sealed === undefined) return event;
        const subject = event.type === 'MessageCreated' ? payloadSubject('message', event.data.message_id) : payloadSubject('delivery', event.data.delivery_id);
        const opened = await this.payloadKeys.keyring.open(sealed, subject).catch((error: unknown) => {
          if (error instanceof SealedPayloadError) return { kind: 'gone', why: 'missing' } as const;
          throw error;
        });
        return opened.kind === 'opened' ? ({ ...event, data: { ...event.data, payload: opened.payload } } as HookpostEvent) : event;
      }),
    );
  }

  async applyBatch(batch: PartitionBatch): Promise<AppliedBatch> {
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return { applied: 0, skipped: 0, rows: 0, subscriptions: [] };
    const atOnce = await this.applyAtOnce(batch, last.offset);
    if (atOnce) return atOnce;
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      const stored = await client.query<{ stored: string | null }>(CLAIM_OFFSETS, [batch.topic, batch.partition, (BigInt(last.offset) + 1n).toString()]);
      const from = BigInt(stored.rows[0]?.stored ?? '0');
      const fresh = batch.messages.filter((message) => BigInt(message.offset) >= from);
      if (fresh.length === 0) {
        await client.query('ROLLBACK');
        return { applied: 0, skipped: batch.messages.length, rows: 0, subscriptions: [] };
      }
      const events = await this.opened(fresh.flatMap((message) => (message.event ? [message.event] : [])));
      const changes = projectEvents(events, await this.storedSubscriptions(client, events), await this.storedEntities(client, events));
      const { subscriptions, rows, changedDeliveries } = await this.write(client, changes, this.live?.watched() ?? false);
      const entities = await this.writeEntities(client, changes);
      entities.rows += await this.writeTasks(client, changes);
      await client.query('COMMIT');
      if (changedDeliveries.length > 0) this.live?.publish(changedDeliveries);
      return { applied: events.length, skipped: batch.messages.length - fresh.length, rows: rows + entities.rows, subscriptions, applications: entities.applications, eventTypes: entities.eventTypes };
    } catch (error) {
      failure = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A client that failed (PostgreSQL restarted, connection cut) is destroyed, not put back in the pool.
      client.release(failure);
    }
  }

  /**
   * The common batch, of delivery events only (a webhook received, a message routed, attempts and outcomes),
   * newer than its partition's stored offset: claimed and written by one statement, without BEGIN and COMMIT
   * around it (four round trips become one). Undefined when the batch is not such, or when the claim fails (part
   * of it was applied before, or the partition has no stored offset yet): the transaction below applies it.
   */
  private async applyAtOnce(batch: PartitionBatch, lastOffset: string): Promise<AppliedBatch | undefined> {
    const events = batch.messages.flatMap((message) => (message.event ? [message.event] : []));
    if (events.length === 0 || !events.every(writesDeliveryRowsOnly)) return undefined;
    const changes = projectEvents(await this.opened(events));
    // (a routing that filtered endpoints out writes those too: the transaction does)
    if (changes.filtered.size > 0) return undefined;
    const returnDeliveries = this.live?.watched() ?? false;
    const claim = { topic: batch.topic, partition: batch.partition, first: batch.messages[0]!.offset, next: (BigInt(lastOffset) + 1n).toString() };
    const statement = deliveryStatement(changes, returnDeliveries, claim);
    if (!statement) return undefined;
    const written = deliveryWritten(await this.pool.query(statement.text, statement.values), returnDeliveries);
    if (!written.claimed) return undefined;
    if (written.changedDeliveries.length > 0) this.live?.publish(written.changedDeliveries);
    return { applied: events.length, skipped: 0, rows: written.rows, subscriptions: [] };
  }

  /** The stored rows of the subscriptions the events name, locked until the batch commits. */
  private async storedSubscriptions(client: PoolClient, events: HookpostEvent[]): Promise<Map<string, SubscriptionRecord>> {
    const ids = [...new Set(events.filter(isSubscriptionEvent).map((event) => event.data.id))];
    if (ids.length === 0) return new Map();
    const result = await client.query<SubscriptionState & { deleted_at: Date | null }>(
      `SELECT ${SUBSCRIPTION_STATE_COLUMNS}, deleted_at FROM subscriptions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    return new Map(result.rows.map((row) => [row.id, subscriptionRecordFromRow(row)]));
  }

  /** The stored application and event-type rows the events name, locked until the batch commits. */
  private async storedEntities(client: PoolClient, events: HookpostEvent[]): Promise<StoredEntities> {
    const appIds = [...new Set(events.filter(isApplicationEvent).map((event) => event.data.id))];
    const typeIds = [...new Set(events.filter(isEventTypeEvent).map((event) => event.data.id))];
    const applications = new Map<string, EntityRecord<ApplicationState>>();
    const eventTypes = new Map<string, EntityRecord<EventTypeState>>();
    if (appIds.length > 0) {
      const result = await client.query(
        `SELECT ${APPLICATION_STATE_COLUMNS}, deleted_at FROM applications WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [appIds],
      );
      for (const row of result.rows) applications.set(row.id, entityRecordFromRow<ApplicationState>(row));
    }
    if (typeIds.length > 0) {
      const result = await client.query(
        `SELECT ${EVENT_TYPE_STATE_COLUMNS}, deleted_at FROM event_types WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
        [typeIds],
      );
      for (const row of result.rows) eventTypes.set(row.id, entityRecordFromRow<EventTypeState>(row));
    }
    return { applications, eventTypes };
  }

  /** Applications, event types and messages: the fold's results replace the locked rows; messages (and who filtered them out) are written once. */
  private async writeEntities(client: PoolClient, changes: ReadModelChanges) {
    let rows = 0;
    const applications = [...changes.applications.values()];
    if (applications.length > 0) {
      rows += (await client.query(
        `INSERT INTO applications AS a (id, version, name, uid, metadata, rate_limit, created_at, updated_at, deleted_at)
         SELECT id, version, name, uid, metadata, rate_limit, created_at, updated_at, deleted_at
         FROM json_to_recordset($1::json) AS x(id uuid, version int, name text, uid text, metadata jsonb, rate_limit int,
                                               created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           version = EXCLUDED.version, name = EXCLUDED.name, uid = EXCLUDED.uid, metadata = EXCLUDED.metadata,
           rate_limit = EXCLUDED.rate_limit, updated_at = EXCLUDED.updated_at, deleted_at = EXCLUDED.deleted_at`,
        [JSON.stringify(applications.map(({ state, deleted_at }) => ({ ...state, deleted_at })))],
      )).rowCount ?? 0;
    }
    const eventTypes = [...changes.eventTypes.values()];
    if (eventTypes.length > 0) {
      rows += (await client.query(
        `INSERT INTO event_types AS t (id, version, description, schemas, archived, deprecated, feature_flag, created_at, updated_at, deleted_at)
         SELECT id, version, description, schemas, archived, deprecated, feature_flag, created_at, updated_at, deleted_at
         FROM json_to_recordset($1::json) AS x(id text, version int, description text, schemas jsonb, archived boolean, deprecated boolean,
                                               feature_flag text, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           version = EXCLUDED.version, description = EXCLUDED.description, schemas = EXCLUDED.schemas, archived = EXCLUDED.archived,
           deprecated = EXCLUDED.deprecated, feature_flag = EXCLUDED.feature_flag, updated_at = EXCLUDED.updated_at,
           deleted_at = EXCLUDED.deleted_at`,
        [JSON.stringify(eventTypes.map(({ state, deleted_at }) => ({ ...state, deleted_at })))],
      )).rowCount ?? 0;
    }
    const messages = [...changes.messages.values()];
    // The sealed messages of the batch whose content was expunged before (their keys are forgotten below), found by
    // the statement that inserts them.
    let expungedSealed: { id: string; payload_expires_at: string }[] = [];
    if (messages.length > 0) {
      const inserted = await client.query<{ inserted: number; expunged: { id: string; payload_expires_at: string }[] }>(
        `WITH x AS (
           SELECT * FROM json_to_recordset($1::json) AS x(id uuid, app_id uuid, event_type text, event_id text, channels text[], tags text[],
                                                         payload jsonb, payload_expires_at timestamptz, created_at timestamptz, deliver_at timestamptz)
         ), inserted AS (
           INSERT INTO messages (id, app_id, event_type, event_id, channels, tags, payload, payload_expires_at, created_at, deliver_at)
           SELECT x.id, app_id, event_type, event_id, channels, tags, CASE WHEN e.id IS NULL AND (payload_expires_at IS NULL OR payload_expires_at > now()) THEN payload END,
                  payload_expires_at, created_at, deliver_at
           FROM x LEFT JOIN content_expunges e ON e.id = x.id
           ON CONFLICT (id) DO NOTHING
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM inserted)::int AS inserted,
                (SELECT COALESCE(json_agg(json_build_object('id', x.id, 'payload_expires_at', x.payload_expires_at)), '[]')
                 FROM x JOIN content_expunges e ON e.id = x.id WHERE x.payload_expires_at IS NOT NULL) AS expunged`,
        [JSON.stringify(messages)],
      );
      rows += inserted.rows[0]?.inserted ?? 0;
      expungedSealed = inserted.rows[0]?.expunged ?? [];
    }
    const filtered = [...changes.filtered.values()];
    if (filtered.length > 0) {
      // A fan-out decided again (after a crash) names the same endpoints: the first record stays.
      rows += (await client.query(
        `INSERT INTO message_filtered_endpoints (message_id, subscription_id, reason, detail, routed_at)
         SELECT message_id, subscription_id, reason, detail, routed_at
         FROM json_to_recordset($1::json) AS x(message_id uuid, subscription_id uuid, reason text, detail text, routed_at timestamptz)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(filtered)],
      )).rowCount ?? 0;
    }
    const expunges = [...changes.expunges.entries()].map(([id, expunge]) => ({ id, ...expunge }));
    if (expunges.length > 0) {
      // Remembered first, so rows written later (in this batch or a replay) are written without the content.
      await client.query(
        `INSERT INTO content_expunges (id, kind, expunged_at)
         SELECT id, kind, expunged_at FROM json_to_recordset($1::json) AS x(id uuid, kind text, expunged_at timestamptz)
         ON CONFLICT (id) DO NOTHING`,
        [JSON.stringify(expunges)],
      );
      const ids = (kind: string) => expunges.filter((expunge) => expunge.kind === kind).map((expunge) => expunge.id);
      rows += (await client.query('UPDATE messages SET payload = NULL WHERE id = ANY($1::uuid[]) AND payload IS NOT NULL', [ids('message')])).rowCount ?? 0;
      rows += (await client.query('UPDATE delivery_attempts SET response_body = NULL, response_headers = NULL WHERE id = ANY($1::uuid[])', [ids('attempt')])).rowCount ?? 0;
    }
    // An expunged message's key is forgotten, so its payload no longer opens in the log either; here, whichever
    // of the message and its expunge came first (a replay reads the topics in any order). Idempotent. A batch
    // with expunges looks for their stored messages too, and for its own messages expunged in it.
    if (expunges.length > 0) {
      const expungedMessages = [...new Set([...expunges.filter((expunge) => expunge.kind === 'message').map((expunge) => expunge.id), ...messages.map((message) => message.id)])];
      const sealed = await client.query<{ id: string; payload_expires_at: Date }>(
        `SELECT m.id, m.payload_expires_at FROM messages m JOIN content_expunges e ON e.id = m.id
         WHERE m.id = ANY($1::uuid[]) AND m.payload_expires_at IS NOT NULL`,
        [expungedMessages],
      );
      expungedSealed = sealed.rows.map((row) => ({ id: row.id, payload_expires_at: row.payload_expires_at.toISOString() }));
    }
    for (const row of expungedSealed) {
      const bucketId = String(Date.parse(row.payload_expires_at));
      if (await this.payloadKeys.store.forget(client, bucketId, payloadSubject('message', row.id))) this.payloadKeys.keyring.forget(bucketId);
    }
    return { rows, applications: applications.map(knownOf), eventTypes: eventTypes.map(knownOf) };
  }

  /** Background tasks: merged with the stored row by the same rules as within the batch (mergeTask). */
  private async writeTasks(client: PoolClient, changes: ReadModelChanges): Promise<number> {
    const tasks = [...changes.tasks.values()].sort(byId).map((task) => ({
      id: task.id,
      app_id: task.app_id,
      subscription_id: task.request?.subscription_id ?? null,
      kind: task.request?.kind ?? null,
      since: task.request?.since ?? null,
      until: task.request?.until ?? null,
      event_types: task.request?.event_types ?? null,
      channel: task.request?.channel ?? null,
      created_at: task.request?.created_at ?? null,
      status: task.status,
      messages_scanned: task.messages_scanned,
      messages_sent: task.messages_sent,
      checkpoint: task.checkpoint?.number ?? null,
      position: task.checkpoint?.position ?? null,
      progress: task.checkpoint?.progress ?? null,
      reason: task.reason,
      updated_at: task.updated_at,
      finished_at: task.finished_at,
    }));
    if (tasks.length === 0) return 0;
    const newerCheckpoint = 'COALESCE(EXCLUDED.checkpoint, -1) > COALESCE(t.checkpoint, -1)';
    const result = await client.query(
      `INSERT INTO background_tasks AS t (id, app_id, subscription_id, kind, since, until, event_types, channel, created_at, status,
                                         messages_scanned, messages_sent, checkpoint, position, progress, reason, updated_at, finished_at)
       SELECT id, app_id, subscription_id, kind, since, until, event_types, channel, created_at, status,
              messages_scanned, messages_sent, checkpoint, position, progress, reason, updated_at, finished_at
       FROM json_to_recordset($1::json) AS x(id uuid, app_id uuid, subscription_id uuid, kind text, since timestamptz, until timestamptz,
                                             event_types text[], channel text, created_at timestamptz, status text, messages_scanned bigint,
                                             messages_sent bigint, checkpoint int, position text, progress float8, reason text,
                                             updated_at timestamptz, finished_at timestamptz)
       ON CONFLICT (id) DO UPDATE SET
         subscription_id = COALESCE(t.subscription_id, EXCLUDED.subscription_id), kind = COALESCE(t.kind, EXCLUDED.kind),
         since = COALESCE(t.since, EXCLUDED.since), until = COALESCE(t.until, EXCLUDED.until),
         event_types = COALESCE(t.event_types, EXCLUDED.event_types), channel = COALESCE(t.channel, EXCLUDED.channel),
         created_at = COALESCE(t.created_at, EXCLUDED.created_at),
         status = CASE WHEN ${taskRankSql('EXCLUDED.status')} > ${taskRankSql('t.status')} THEN EXCLUDED.status ELSE t.status END,
         messages_scanned = GREATEST(t.messages_scanned, EXCLUDED.messages_scanned),
         messages_sent = GREATEST(t.messages_sent, EXCLUDED.messages_sent),
         position = CASE WHEN ${newerCheckpoint} THEN EXCLUDED.position ELSE t.position END,
         progress = CASE WHEN ${newerCheckpoint} THEN EXCLUDED.progress ELSE t.progress END,
         checkpoint = CASE WHEN ${newerCheckpoint} THEN EXCLUDED.checkpoint ELSE t.checkpoint END,
         reason = CASE WHEN ${taskRankSql('EXCLUDED.status')} > ${taskRankSql('t.status')} THEN EXCLUDED.reason
                       WHEN ${taskRankSql('EXCLUDED.status')} = ${taskRankSql('t.status')} THEN COALESCE(t.reason, EXCLUDED.reason)
                       ELSE t.reason END,
         updated_at = GREATEST(t.updated_at, EXCLUDED.updated_at),
         finished_at = GREATEST(t.finished_at, EXCLUDED.finished_at)`,
      [JSON.stringify(tasks)],
    );
    return result.rowCount ?? 0;
  }

  private async write(client: PoolClient, changes: ReadModelChanges, returnDeliveries: boolean): Promise<Pick<AppliedBatch, 'subscriptions' | 'rows'> & { changedDeliveries: DeliveryRowChange[] }> {
    let rows = 0;
    let changedDeliveries: DeliveryRowChange[] = [];
    const records = [...changes.subscriptions.values()];
    if (records.length > 0) {
      const upserts = records.map(({ state, deleted_at }) => ({
        signature_scheme: 'hmac-sha256',
        public_key: null,
        previous_secret: null,
        previous_secret_expires_at: null,
        app_id: DEFAULT_APPLICATION_ID,
        paused: false,
        ordered: false,
        head_skip: null,
        ...state,
        deleted_at,
      }));
      // The fold already continued from the locked rows, so its result replaces them.
      rows += (await client.query(
        `INSERT INTO subscriptions AS s (${SUBSCRIPTION_STATE_COLUMNS}, deleted_at)
         SELECT ${SUBSCRIPTION_STATE_COLUMNS}, deleted_at
         FROM json_to_recordset($1::json) AS x(id uuid, version int, name text, description text, target_url text, is_active boolean,
                                               event_types text[], secret text, max_attempts int, timeout_ms int, signature_scheme text,
                                               public_key text, previous_secret text, previous_secret_expires_at timestamptz,
                                               app_id uuid, uid text, channels text[], metadata jsonb, rate_limit int, headers jsonb,
                                               payload_filter jsonb, paused boolean, ordered boolean, head_skip jsonb, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)
         ON CONFLICT (id) DO UPDATE SET
           app_id = EXCLUDED.app_id, uid = EXCLUDED.uid, channels = EXCLUDED.channels, metadata = EXCLUDED.metadata,
           rate_limit = EXCLUDED.rate_limit, headers = EXCLUDED.headers, payload_filter = EXCLUDED.payload_filter, paused = EXCLUDED.paused, ordered = EXCLUDED.ordered, head_skip = EXCLUDED.head_skip,
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

    const statement = deliveryStatement(changes, returnDeliveries);
    if (statement) {
      const written = deliveryWritten(await client.query(statement.text, statement.values), returnDeliveries);
      rows += written.rows;
      changedDeliveries = written.changedDeliveries;
    }
    return { subscriptions: changed, rows, changedDeliveries };
  }
}

/**
 * The statement that writes a batch's delivery rows and their attempts (every attempt's delivery is in the batch
 * too: an attempt event updates its row), or undefined when there are none. With `claim`, the rows go in only if
 * the partition's stored offset is at or below the batch's first offset, and the offset moves past the batch in
 * the same statement (applyAtOnce); `claimed` in the result says whether it did.
 */
function deliveryStatement(
  changes: ReadModelChanges,
  returnDeliveries: boolean,
  claim?: { topic: string; partition: number; first: string; next: string },
): { text: string; values: unknown[] } | undefined {
  // In id order, as every batch writes them: two batches (of two partitions) that upsert some of the same
  // deliveries then take their row locks in one order and cannot deadlock.
  const deliveries = [...changes.deliveries.values()].sort(byId).map((change) => ({
    id: change.id,
    subscription_id: change.subscription_id,
    message_id: change.message_id,
    manual: change.manual ?? false,
    ordered: change.ordered ?? false,
    event_type: change.event_type,
    payload: change.payload,
    payload_expires_at: change.payload_expires_at ?? null,
    status: change.state.status,
    state_seq: change.state.seq,
    attempt_count: change.state.attempt_count,
    next_attempt_at: change.state.next_attempt_at,
    last_status_code: change.state.last_status_code,
    last_error: change.state.last_error,
    created_at: change.created_at,
    updated_at: change.updated_at,
    delivered_at: change.state.delivered_at,
    hold_seq: change.state.hold?.seq ?? null,
    held_at: change.state.hold?.at ?? null,
    release_seq: change.state.release?.seq ?? null,
    released_hold_at: change.state.release?.at ?? null,
  }));
  const attempts = [...changes.attempts.values()].sort((a, b) => (a.delivery_id === b.delivery_id ? a.attempt_number - b.attempt_number : a.delivery_id < b.delivery_id ? -1 : 1));
  if (deliveries.length === 0) return undefined;
  const values: unknown[] = [JSON.stringify(deliveries)];
  if (attempts.length > 0) values.push(JSON.stringify(attempts));
  let withClaim = '';
  let claimed = '';
  if (claim) {
    values.push(claim.topic, claim.partition, claim.first, claim.next);
    const [topic, partition, first, next] = [values.length - 3, values.length - 2, values.length - 1, values.length].map((n) => `$${n}`);
    withClaim = `claim AS (UPDATE projector_offsets SET next_offset = ${next}::bigint
                           WHERE topic = ${topic} AND partition = ${partition} AND next_offset <= ${first}::bigint RETURNING 1), `;
    claimed = 'WHERE EXISTS (SELECT 1 FROM claim)';
  }
  // The state machine's precedence rule (laterDeliveryState() applies the same one within the batch).
  const take = supersedesSql({ status: 'd.status', seq: 'd.state_seq' }, { seq: 'EXCLUDED.state_seq' });
  const pick = (column: string) => `${column} = CASE WHEN ${take} THEN EXCLUDED.${column} ELSE d.${column} END`;
  // (a deferral at the same position moves only the next attempt time: laterDeliveryState() again)
  const nextAttempt = nextAttemptSql({ status: 'd.status', seq: 'd.state_seq', nextAttempt: 'd.next_attempt_at' }, { seq: 'EXCLUDED.state_seq', nextAttempt: 'EXCLUDED.next_attempt_at' });
  // (holds and releases: each the later of the stored one and the incoming one, laterHold() in SQL)
  const hold = (take: 'seq' | 'at') => laterHoldSql({ seq: 'd.hold_seq', at: 'd.held_at' }, { seq: 'EXCLUDED.hold_seq', at: 'EXCLUDED.held_at' }, take);
  const release = (take: 'seq' | 'at') =>
    laterHoldSql({ seq: 'd.release_seq', at: 'd.released_hold_at' }, { seq: 'EXCLUDED.release_seq', at: 'EXCLUDED.released_hold_at' }, take);
  const upsert = `INSERT INTO webhook_deliveries AS d (id, subscription_id, message_id, manual, ordered, event_type, payload, payload_expires_at, status, state_seq, attempt_count, next_attempt_at,
                                         last_status_code, last_error, created_at, updated_at, delivered_at, hold_seq, held_at, release_seq, released_hold_at)
     SELECT id, subscription_id, message_id, manual, ordered, event_type, CASE WHEN payload_expires_at IS NULL OR payload_expires_at > now() THEN payload END, payload_expires_at,
            status, state_seq, attempt_count, next_attempt_at, last_status_code, last_error, created_at, updated_at, delivered_at,
            hold_seq, held_at, release_seq, released_hold_at
     FROM json_to_recordset($1::json) AS x(id uuid, subscription_id uuid, message_id uuid, manual boolean, ordered boolean, event_type text, payload jsonb,
                                           payload_expires_at timestamptz, status text, state_seq int,
                                           attempt_count int, next_attempt_at timestamptz, last_status_code int, last_error text,
                                           created_at timestamptz, updated_at timestamptz, delivered_at timestamptz,
                                           hold_seq int, held_at timestamptz, release_seq int, released_hold_at timestamptz)
     ${claimed}
     ON CONFLICT (id) DO UPDATE SET
       hold_seq = ${hold('seq')}, held_at = ${hold('at')},
       release_seq = ${release('seq')}, released_hold_at = ${release('at')},
       payload = CASE WHEN d.payload_expires_at IS NOT NULL AND d.payload IS NULL THEN NULL ELSE COALESCE(d.payload, EXCLUDED.payload) END,
       payload_expires_at = COALESCE(d.payload_expires_at, EXCLUDED.payload_expires_at),
       message_id = COALESCE(d.message_id, EXCLUDED.message_id),
       manual = d.manual OR EXCLUDED.manual,
       ordered = d.ordered OR EXCLUDED.ordered,
       event_type = COALESCE(d.event_type, EXCLUDED.event_type),
       updated_at = GREATEST(d.updated_at, EXCLUDED.updated_at),
       next_attempt_at = ${nextAttempt},
       ${['status', 'state_seq', 'attempt_count', 'last_status_code', 'last_error', 'delivered_at'].map(pick).join(',\n           ')}
     ${returnDeliveries ? CHANGED_DELIVERY_RETURNING : 'RETURNING 1'}`;
  const withAttempts = attempts.length > 0 ? `, attempts AS (${attemptsInsert('$2', claimed)} RETURNING 1)` : '';
  const attemptsInserted = attempts.length > 0 ? '(SELECT count(*) FROM attempts)::int' : '0';
  const claimedCount = claim ? '(SELECT count(*) FROM claim)::int' : '1';
  // (one row whatever was written: the counts, and the rows for the live view when it is watched)
  const text = returnDeliveries
    ? `WITH ${withClaim}upserted AS (${upsert})${withAttempts}
       SELECT upserted.*, ${attemptsInserted} AS attempts_inserted, ${claimedCount} AS claimed FROM (VALUES (1)) AS one LEFT JOIN upserted ON true`
    : `WITH ${withClaim}upserted AS (${upsert})${withAttempts}
       SELECT (SELECT count(*) FROM upserted)::int AS upserted, ${attemptsInserted} AS attempts_inserted, ${claimedCount} AS claimed`;
  return { text, values };
}

/** What deliveryStatement's statement wrote. */
function deliveryWritten(result: { rows: Record<string, unknown>[] }, returnDeliveries: boolean): { claimed: boolean; rows: number; changedDeliveries: DeliveryRowChange[] } {
  const first = result.rows[0] ?? {};
  const upserted = returnDeliveries ? result.rows.filter((row) => row.id !== null) : [];
  return {
    claimed: Number(first.claimed ?? 0) > 0,
    rows: (returnDeliveries ? upserted.length : Number(first.upserted ?? 0)) + Number(first.attempts_inserted ?? 0),
    // (a row an attempt event made before the event that creates the delivery is not shown by the reads yet)
    changedDeliveries: upserted.filter((row) => row.born === true).map(deliveryRowChange),
  };
}

/** Whether the event changes delivery rows (and attempts) and nothing else: what applyAtOnce writes. */
function writesDeliveryRowsOnly(event: HookpostEvent): boolean {
  switch (event.type) {
    case 'WebhookReceived':
    case 'MessageRouted':
    case 'DeliveryAttempted':
    case 'DeliverySucceeded':
    case 'DeliveryRetryScheduled':
    case 'DeliveryFailed':
    case 'DeliveryCancelled':
    case 'DeliveryDeferred':
    case 'DeliveryHeld':
    case 'DeliveryReleased':
      return true;
    case 'SubscriptionCreated':
    case 'SubscriptionUpdated':
    case 'SubscriptionChanged':
    case 'SubscriptionDeleted':
    case 'ApplicationCreated':
    case 'ApplicationChanged':
    case 'ApplicationDeleted':
    case 'EventTypeCreated':
    case 'EventTypeChanged':
    case 'EventTypeDeleted':
    case 'MessageCreated':
    case 'RedeliveryRequested':
    case 'MessageContentExpunged':
    case 'AttemptContentExpunged':
    case 'BackgroundTaskProgressed':
    case 'BackgroundTaskFinished':
    case 'BackgroundTaskCancelled':
      return false;
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${(unknown as { type: string }).type}`);
    }
  }
}

/** Inserts the attempts in the JSON parameter `param`; an attempt recorded before (a redelivery) keeps its first record. */
function attemptsInsert(param: string, where = ''): string {
  return `INSERT INTO delivery_attempts (id, delivery_id, attempt_number, status_code, duration_ms, error, response_headers, response_body, started_at, created_at)
         SELECT x.id, delivery_id, attempt_number, status_code, duration_ms, error,
                CASE WHEN e.id IS NULL THEN response_headers END, CASE WHEN e.id IS NULL THEN response_body END, started_at, created_at
         FROM json_to_recordset(${param}::json) AS x(id uuid, delivery_id uuid, attempt_number int, status_code int, duration_ms int, error text,
                                               response_headers jsonb, response_body text, started_at timestamptz, created_at timestamptz)
         LEFT JOIN content_expunges e ON e.id = x.id
         ${where}
         ON CONFLICT DO NOTHING`;
}

function deliveryRowChange(row: Record<string, unknown>): DeliveryRowChange {
  return {
    id: row.id as string,
    app_id: (row.app_id as string | null) ?? null,
    subscription_id: row.subscription_id as string,
    message_id: (row.message_id as string | null) ?? null,
    event_type: (row.event_type as string | null) ?? null,
    status: row.status as DeliveryRowChange['status'],
    attempt_count: row.attempt_count as number,
    next_attempt_at: iso(row.next_attempt_at ?? null),
    last_status_code: (row.last_status_code as number | null) ?? null,
    created_at: iso(row.created_at as Date)!,
    updated_at: iso(row.updated_at as Date)!,
  };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The columns that hold a subscription's state (as its events carry it), in one place for every query. */
export const SUBSCRIPTION_STATE_COLUMNS =
  'id, version, name, description, target_url, is_active, event_types, secret, max_attempts, timeout_ms, signature_scheme, ' +
  'public_key, previous_secret, previous_secret_expires_at, app_id, uid, channels, metadata, rate_limit, headers, payload_filter, paused, ordered, head_skip, created_at, updated_at';
export const APPLICATION_STATE_COLUMNS = 'id, version, name, uid, metadata, rate_limit, created_at, updated_at';
export const EVENT_TYPE_STATE_COLUMNS = 'id, version, description, schemas, archived, deprecated, feature_flag, created_at, updated_at';

/** A stored application or event-type row as the fold sees it. */
export function entityRecordFromRow<S>(row: Record<string, unknown>): EntityRecord<S & { id: string; version: number; updated_at: string }> {
  const { deleted_at, ...rest } = row;
  const state = { ...rest, created_at: iso(rest.created_at), updated_at: iso(rest.updated_at) } as unknown as S & { id: string; version: number; updated_at: string };
  return { state, deleted_at: iso(deleted_at ?? null) };
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
