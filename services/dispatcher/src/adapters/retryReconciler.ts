import type { Logger } from '@hookpost/platform';
import type { DeliveryJob } from '../delivery/deliveryJob';
import { decideReconcileRound, jobForOverdueRetry, RecentReschedules, type OverdueRetry } from '../delivery/overdueRetry';

export type RetryReconcilerDeps = {
  /** Retries the read model shows due before the given time and still waiting. */
  overdue: (dueBefore: Date) => AsyncIterable<OverdueRetry>;
  retries: {
    schedule: (job: DeliveryJob, delayMs: number) => Promise<void>;
    ensureTopology: () => Promise<void>;
    /** Retries due and waiting in the ready queue; undefined when RabbitMQ is not connected. */
    readyDepth: () => Promise<number | undefined>;
  };
  intervalMs: number;
  /** How late a retry may be before RabbitMQ is assumed to have lost it. */
  graceMs: number;
  now: () => Date;
  log: Logger;
  rescheduled?: (count: number) => void;
};

/**
 * RabbitMQ is a timer, not a store: if its queues are deleted or its data wiped, the retries waiting in it are
 * gone, but the log still says each delivery is `retrying` with a `next_attempt_at`. Every `intervalMs` this
 * re-declares the retry topology (so deleted queues come back) and re-schedules, due now, every retry that
 * is more than `graceMs` overdue.
 *
 * The source is the read model, through the projector's internal API, rather than the log itself: the read
 * model is the log's projection (rebuilt from it by `npm run rebuild`), already merged per delivery and
 * indexed by status, while folding the deliveries topic here would mean a second projection inside the
 * dispatcher. The read model can be a moment behind the log, so a retry it calls overdue may have just been
 * made: the attempt guard (redisAttemptGuard.ts) drops such a copy, and the grace keeps ordinary lateness
 * (a busy ready queue, projection lag) from producing copies at all. Two more guards keep an overloaded
 * system from doubling its own work: the projector answers only once it has applied every delivery event
 * recorded before the question (its read fence, so a deferral or an attempt just recorded is not read as an
 * overdue retry), and no round runs while due retries wait in the ready queue (decideReconcileRound), for at
 * most `graceMs`.
 */
export class RetryReconciler {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;
  private stopped = false;
  private readonly recent: RecentReschedules;
  /** Since when the ready queue has held due retries, round after round (decideReconcileRound). */
  private backlogSinceMs: number | undefined;

  constructor(private readonly deps: RetryReconcilerDeps) {
    this.recent = new RecentReschedules(deps.graceMs);
  }

  start(): void {
    this.stopped = false;
    this.next();
  }

  private next(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.reconcileOnce()
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'retry reconciliation failed; trying again next round'))
        .finally(() => this.next());
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One round; resolves with the number of retries re-scheduled. */
  async reconcileOnce(): Promise<number> {
    const { deps } = this;
    await deps.retries.ensureTopology();
    const now = deps.now();
    const round = decideReconcileRound(await deps.retries.readyDepth().catch(() => undefined), this.backlogSinceMs, now.getTime(), deps.graceMs);
    if (round.kind === 'wait') {
      this.backlogSinceMs = round.backlogSinceMs;
      return 0;
    }
    this.backlogSinceMs = undefined;
    this.recent.forgetOlderThanWindow(now.getTime());
    let rescheduled = 0;
    for await (const row of deps.overdue(new Date(now.getTime() - deps.graceMs))) {
      if (this.stopped) break;
      const read = jobForOverdueRetry(row, now);
      if (!read.ok) {
        deps.log.error({ delivery_id: row.id, reason: read.reason }, 'overdue retry in the read model is not a job; skipped');
        continue;
      }
      if (!this.recent.claim(read.job.delivery_id, read.job.attempt_number, now.getTime())) continue;
      await deps.retries.schedule(read.job, 0);
      rescheduled += 1;
    }
    if (rescheduled > 0) {
      deps.log.warn({ rescheduled, grace_ms: deps.graceMs }, 'retries overdue in the log re-scheduled (RabbitMQ lost or delayed them)');
      deps.rescheduled?.(rescheduled);
    }
    return rescheduled;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round?.catch(() => undefined);
  }
}
