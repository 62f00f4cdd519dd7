import { checkDeliveryJob, type JobReading } from './deliveryJob';

/** A delivery the read model shows waiting for a retry that should have happened by now. */
export type OverdueRetry = {
  id: string;
  subscription_id: string;
  /** Set when the delivery fans out a message. */
  message_id?: string | null;
  event_type: string | null;
  payload: Record<string, unknown> | null;
  /** When a sealed payload's retention ends (null for a plain one; absent from an older projector). */
  payload_expires_at?: string | null;
  created_at: string;
  /** Attempts made so far: the retry that is overdue is attempt_count + 1. */
  attempt_count: number;
  next_attempt_at: string;
  last_status_code: number | null;
  last_error: string | null;
};

/**
 * The job for the retry the read model says is overdue. The payload is the read model's copy (jsonb), so a
 * re-scheduled retry may order the payload's keys differently from the first attempts; the content is the
 * same, and the signature covers the bytes actually sent.
 */
export function jobForOverdueRetry(row: OverdueRetry, now: Date): JobReading {
  // A payload the read model no longer holds because its retention ended (or it was expunged) makes a job that
  // ends its delivery, cancelled, instead of a retry left waiting for ever.
  const gone = row.payload === null && row.payload_expires_at ? { payload_gone: Date.parse(row.payload_expires_at) <= now.getTime() ? 'expired' : 'expunged' } : undefined;
  return checkDeliveryJob({
    delivery_id: row.id,
    subscription_id: row.subscription_id,
    ...(row.message_id ? { message_id: row.message_id } : {}),
    event_type: row.event_type,
    ...(gone ?? { payload: row.payload }),
    received_at: row.created_at,
    attempt_number: row.attempt_count + 1,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
  });
}

/**
 * Which retries the reconciler re-scheduled lately, so one overdue retry is re-published once per grace
 * period rather than every round while the dispatchers work through it (the attempt guard drops copies
 * anyway; this keeps them from piling up in the ready queue).
 */
export class RecentReschedules {
  private readonly at = new Map<string, number>();

  constructor(private readonly forgetAfterMs: number) {}

  /** True, and remembered, when `deliveryId`'s attempt was not re-scheduled within the window. */
  claim(deliveryId: string, attemptNumber: number, nowMs: number): boolean {
    const key = `${deliveryId}/${attemptNumber}`;
    const last = this.at.get(key);
    if (last !== undefined && nowMs - last < this.forgetAfterMs) return false;
    this.at.set(key, nowMs);
    return true;
  }

  forgetOlderThanWindow(nowMs: number): void {
    for (const [key, at] of this.at) if (nowMs - at >= this.forgetAfterMs) this.at.delete(key);
  }

  get size(): number {
    return this.at.size;
  }
}

/**
 * Whether a reconciliation round runs now, given the retries RabbitMQ holds due in its ready queue. Due
 * retries waiting there mean the dispatchers are behind, not that RabbitMQ lost anything: the retries the read
 * model calls overdue are most likely among them, and re-publishing them would add a copy of each to the same
 * backlog (double the work exactly when there is too much). So while a backlog stands the round waits, but
 * for at most `graceMs` (a backlog that never drains must not hide retries that were really lost). An unknown
 * depth (RabbitMQ not connected) does not hold the round back: that is when retries are lost.
 */
export function decideReconcileRound(
  readyDepth: number | undefined,
  backlogSinceMs: number | undefined,
  nowMs: number,
  graceMs: number,
): { kind: 'reconcile' } | { kind: 'wait'; backlogSinceMs: number } {
  if (readyDepth === undefined || readyDepth === 0) return { kind: 'reconcile' };
  const since = backlogSinceMs ?? nowMs;
  if (nowMs - since >= graceMs) return { kind: 'reconcile' };
  return { kind: 'wait', backlogSinceMs: since };
}
