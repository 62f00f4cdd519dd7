import type { Logger } from '@hookpost/platform';
import type { DeliveryJob } from '../delivery/deliveryJob';
import { jobForOverdueRetry, RecentReschedules } from '../delivery/overdueRetry';
import type { LaneBacklogEntry } from '../adapters/projectorDeliveries';

/**
 * Whether a lane has stopped moving, from its head as the read model has it: the head is due (its next
 * attempt's time, or its creation when none was made) more than `graceMs` ago and not held. A lane that a
 * dispatcher works makes its head's attempt when due, and records it; one RabbitMQ lost (its queue deleted,
 * its data wiped: a queue declared again after that is empty) has nobody to.
 */
export function laneStopped(head: Pick<LaneBacklogEntry, 'created_at' | 'next_attempt_at' | 'held'>, nowMs: number, graceMs: number): boolean {
  if (head.held) return false;
  return nowMs - Date.parse(head.next_attempt_at ?? head.created_at) > graceMs;
}

export type LaneRestorerDeps = {
  backlog: (subscriptionId: string) => AsyncIterable<LaneBacklogEntry>;
  enqueue: (jobs: readonly DeliveryJob[]) => Promise<void>;
  graceMs: number;
  now: () => Date;
  log: Logger;
  restored?: (count: number) => void;
};

/** A lane's head as one check saw it, and since when it has looked so. */
type HeadSeen = { id: string; attempts: number; nextAttemptAt: string | null; sinceMs: number };

/**
 * RabbitMQ is a lane's store of place, not of record: every laned delivery is in the log, and the read model
 * has each unfinished one in lane order. When a lane has stopped, its unfinished deliveries are put in it
 * again, in order, as the retry reconciler re-schedules retries RabbitMQ lost. Stopped means overdue
 * (laneStopped) and unchanged for a whole grace period, check after check: the delivery behind a head that has
 * just ended is overdue by how long it waited, but it is attempted (and changes) at once. A lane that was only
 * slow gets copies at its end: each is let go when it comes to the head, its delivery ended (laneStep.ts). A
 * lane is restored at most once per grace period.
 */
export class LaneRestorer {
  private readonly recent: RecentReschedules;
  private readonly heads = new Map<string, HeadSeen>();

  constructor(private readonly deps: LaneRestorerDeps) {
    this.recent = new RecentReschedules(deps.graceMs);
  }

  /** Checks one lane with work; resolves with the number of deliveries put in it again (0: it moves). */
  async check(subscriptionId: string): Promise<number> {
    const { deps } = this;
    const now = deps.now().getTime();
    this.recent.forgetOlderThanWindow(now);
    const entries: LaneBacklogEntry[] = [];
    for await (const entry of deps.backlog(subscriptionId)) {
      if (entries.length === 0 && !this.stoppedAt(subscriptionId, entry, now)) return 0;
      entries.push(entry);
    }
    if (entries.length === 0) this.heads.delete(subscriptionId);
    if (entries.length === 0 || !this.recent.claim(subscriptionId, 0, now)) return 0;
    const jobs: DeliveryJob[] = [];
    for (const entry of entries) {
      const read = jobForOverdueRetry({ ...entry, next_attempt_at: entry.next_attempt_at ?? entry.created_at }, deps.now());
      if (read.ok) jobs.push(read.job);
      else deps.log.error({ delivery_id: entry.id, reason: read.reason }, 'laned delivery in the read model is not a job; left out of its lane');
    }
    await deps.enqueue(jobs);
    deps.log.warn({ subscription_id: subscriptionId, restored: jobs.length, grace_ms: deps.graceMs }, 'lane stopped moving (RabbitMQ lost it?); its unfinished deliveries put in it again, in order');
    deps.restored?.(jobs.length);
    return jobs.length;
  }

  /** Whether the lane's head is overdue and has looked the same for a grace period (remembering how it looks). */
  private stoppedAt(subscriptionId: string, head: LaneBacklogEntry, nowMs: number): boolean {
    const seen = this.heads.get(subscriptionId);
    const same = seen !== undefined && seen.id === head.id && seen.attempts === head.attempt_count && seen.nextAttemptAt === head.next_attempt_at;
    if (!same) this.heads.set(subscriptionId, { id: head.id, attempts: head.attempt_count, nextAttemptAt: head.next_attempt_at, sinceMs: nowMs });
    return same && nowMs - seen.sinceMs >= this.deps.graceMs && laneStopped(head, nowMs, this.deps.graceMs);
  }
}
