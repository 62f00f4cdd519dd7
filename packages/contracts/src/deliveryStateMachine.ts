import type { EventOf } from './events';

/**
 * The delivery state machine, in one place: the statuses, which are final, the moves allowed between
 * them, the precedence that lets a projection merge a delivery's events in any order, and the same
 * precedence as SQL. The API schema, the dispatcher, the projection and its upsert all import it.
 *
 *   pending ──▶ retrying ──▶ retrying (next attempt) …
 *      │           │
 *      └───────────┴──▶ succeeded | failed | cancelled   (final: nothing moves a delivery out of these)
 *
 * While a pending or retrying delivery's endpoint is paused its next attempt is *held* (see `isHeld`): a
 * sub-state of where it stands, not a status of its own, since holding moves it neither forward nor back.
 *
 * The read model's CHECK constraint on webhook_deliveries.status is a migration, so it cannot import this:
 * a status added here needs a migration that widens the constraint, and the projector's integration test
 * compares the constraint with `deliveryStatuses` so the two cannot drift unnoticed.
 */

export const deliveryStatuses = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export const finalDeliveryStatuses = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly DeliveryStatus[];
export type FinalDeliveryStatus = (typeof finalDeliveryStatuses)[number];

const FINAL: ReadonlySet<DeliveryStatus> = new Set(finalDeliveryStatuses);

export function isFinalDeliveryStatus(status: DeliveryStatus): status is FinalDeliveryStatus {
  return FINAL.has(status);
}

/** The moves a delivery may make. A retry after a retry is a move too (the next attempt is scheduled). */
export const deliveryTransitions: Readonly<Record<DeliveryStatus, readonly DeliveryStatus[]>> = {
  pending: ['retrying', 'succeeded', 'failed', 'cancelled'],
  retrying: ['retrying', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canMoveDelivery(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return deliveryTransitions[from].includes(to);
}

/**
 * Where a delivery stands, ordered by `seq` so that events arriving out of order (they travel on two topics
 * and may be redelivered) only ever move it forward: 0 while pending, 2 × attempts made for a scheduled
 * retry, 2 × attempts made + 1 for a final state. The attempt that ends a delivery thus outranks the retry
 * scheduled before it, and a later retry outranks an earlier one.
 */
export type DeliveryPosition = Readonly<{ status: DeliveryStatus; seq: number }>;

export function deliveryPosition(status: DeliveryStatus, attemptCount: number): DeliveryPosition {
  switch (status) {
    case 'pending':
      return { status, seq: 0 };
    case 'retrying':
      return { status, seq: 2 * attemptCount };
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return { status, seq: 2 * attemptCount + 1 };
    default: {
      const unknown: never = status;
      throw new Error(`unknown delivery status ${String(unknown)}`);
    }
  }
}

/** Where a delivery stands while attempt `attemptNumber` (1-based) is due: pending before the first, else retrying. */
export function deliveryPositionBeforeAttempt(attemptNumber: number): DeliveryPosition {
  return attemptNumber <= 1 ? deliveryPosition('pending', 0) : deliveryPosition('retrying', attemptNumber - 1);
}

/** The events about one delivery (keyed by its id on the deliveries topic, or received on the webhooks topic). */
export type DeliveryEvent = EventOf<
  | 'WebhookReceived'
  | 'DeliveryAttempted'
  | 'DeliverySucceeded'
  | 'DeliveryRetryScheduled'
  | 'DeliveryFailed'
  | 'DeliveryCancelled'
  | 'DeliveryDeferred'
  | 'DeliveryHeld'
  | 'DeliveryReleased'
>;

/**
 * The position an event puts its delivery in. WebhookReceived and DeliveryAttempted create the row but say
 * nothing newer than `pending` (the attempt's outcome follows in its own event).
 */
export function deliveryPositionAfter(event: DeliveryEvent): DeliveryPosition {
  switch (event.type) {
    case 'WebhookReceived':
    case 'DeliveryAttempted':
      return deliveryPosition('pending', 0);
    case 'DeliveryRetryScheduled':
      return deliveryPosition('retrying', event.data.attempt_count);
    case 'DeliverySucceeded':
      return deliveryPosition('succeeded', event.data.attempt_count);
    case 'DeliveryFailed':
      return deliveryPosition('failed', event.data.attempt_count);
    case 'DeliveryCancelled':
      return deliveryPosition('cancelled', event.data.attempt_count);
    case 'DeliveryDeferred':
    case 'DeliveryHeld':
    case 'DeliveryReleased':
      // Puts off the attempt without making it (or lets it be made again): the delivery stays where it stood
      // while that attempt was due.
      return deliveryPositionBeforeAttempt(event.data.attempt_number);
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${(unknown as { type: string }).type}`);
    }
  }
}

/**
 * The precedence rule: does `incoming` replace `current`? A final status is never replaced; otherwise the
 * higher seq wins (an equal seq is the same state again, a redelivery). Every replacement this allows is a
 * move `canMoveDelivery` allows (the unit test checks every pair).
 */
export function supersedes(current: DeliveryPosition, incoming: DeliveryPosition): boolean {
  return !isFinalDeliveryStatus(current.status) && incoming.seq > current.seq;
}

/**
 * Whether two states are the same position (not a final one): then neither replaces the other, but the later
 * next attempt time holds, since a deferral (DeliveryDeferred) moves only that. The other fields of two
 * events at one position agree: a deferral carries the outcome of the attempt before it, as the retry that
 * scheduled it does.
 */
export function samePosition(current: DeliveryPosition, incoming: DeliveryPosition): boolean {
  return !isFinalDeliveryStatus(current.status) && incoming.seq === current.seq;
}

/** The later of two next attempt times (ISO timestamps, either may be null). */
export function laterNextAttempt(current: string | null, incoming: string | null): string | null {
  if (current === null) return incoming;
  if (incoming === null) return current;
  return Date.parse(incoming) > Date.parse(current) ? incoming : current;
}

const sqlList = (values: readonly string[]) => values.map((value) => `'${value.replace(/'/g, "''")}'`).join(', ');

/**
 * `supersedes` as a SQL boolean expression over the given column references, generated from the same data
 * so the upsert cannot drift from the TypeScript rule (the projector's integration test runs both on every
 * pair). The references are SQL written by the caller, never user input.
 */
export function supersedesSql(current: { status: string; seq: string }, incoming: { seq: string }): string {
  return `(${current.status} NOT IN (${sqlList(finalDeliveryStatuses)}) AND ${incoming.seq} > ${current.seq})`;
}

/**
 * The next attempt time after a merge, as SQL over the given column references: the incoming one when it
 * supersedes, the later of the two at the same position (GREATEST ignores NULL), else the current one.
 */
export function nextAttemptSql(current: { status: string; seq: string; nextAttempt: string }, incoming: { seq: string; nextAttempt: string }): string {
  return (
    `CASE WHEN ${supersedesSql(current, incoming)} THEN ${incoming.nextAttempt} ` +
    `WHEN ${current.status} NOT IN (${sqlList(finalDeliveryStatuses)}) AND ${incoming.seq} = ${current.seq} THEN GREATEST(${current.nextAttempt}, ${incoming.nextAttempt}) ` +
    `ELSE ${current.nextAttempt} END`
  );
}

/**
 * A hold, or the hold a release ends: the position it was made at (`seq`, as deliveryPosition) and when.
 * Holds are ordered by position, then time, so the latest of any set of holds is one answer whatever order
 * they are read in; the same for releases. A release carries the hold it ends, not its own time, so no two
 * clocks are compared.
 */
export type HoldMark = Readonly<{ seq: number; at: string }>;

function compareHolds(a: HoldMark, b: HoldMark): number {
  return a.seq !== b.seq ? a.seq - b.seq : Date.parse(a.at) - Date.parse(b.at);
}

/** The later of two holds (or of two releases); either may be null. */
export function laterHold(current: HoldMark | null, incoming: HoldMark | null): HoldMark | null {
  if (current === null) return incoming;
  if (incoming === null) return current;
  return compareHolds(incoming, current) > 0 ? incoming : current;
}

/**
 * Whether a delivery's next attempt is held now: it is still waiting (not final), its latest hold was made
 * at the position it stands at (an attempt made since moved it on), and no release ends that hold.
 */
export function isHeld(position: DeliveryPosition, hold: HoldMark | null, release: HoldMark | null): boolean {
  if (isFinalDeliveryStatus(position.status) || hold === null || hold.seq !== position.seq) return false;
  return release === null || compareHolds(hold, release) > 0;
}

/** A hold mark's columns as one comparable SQL row value (NULL marks sort first). */
function holdRowSql(mark: { seq: string; at: string }): string {
  return `(COALESCE(${mark.seq}, -1), COALESCE(${mark.at}, '-infinity'::timestamptz))`;
}

/**
 * `laterHold` as SQL: the value of one column (`take`) of the later of two marks. The references are SQL
 * written by the caller, never user input.
 */
export function laterHoldSql(current: { seq: string; at: string }, incoming: { seq: string; at: string }, take: 'seq' | 'at'): string {
  return `CASE WHEN ${holdRowSql(incoming)} > ${holdRowSql(current)} THEN ${incoming[take]} ELSE ${current[take]} END`;
}

/** `isHeld` as a SQL boolean over a row's columns. */
export function isHeldSql(row: { status: string; seq: string; hold: { seq: string; at: string }; release: { seq: string; at: string } }): string {
  return (
    `(${row.status} NOT IN (${sqlList(finalDeliveryStatuses)}) AND ${row.hold.seq} IS NOT NULL AND ${row.hold.seq} = ${row.seq} ` +
    `AND ${holdRowSql(row.hold)} > ${holdRowSql(row.release)})`
  );
}

/** The status column's allowed values as SQL, for a CHECK constraint or a query. */
export function deliveryStatusInSql(column: string): string {
  return `${column} IN (${sqlList(deliveryStatuses)})`;
}
