import type { Logger } from '@hookpost/platform';
import type { DeliveryJob } from '../delivery/deliveryJob';
import { stillPaused } from '../delivery/hold';
import { persistently } from '../persistently';
import type { HeadOutcome } from '../adapters/rabbitLanes';
import type { LaneAttemptOutcome } from '../dispatcher';
import { decideLaneStep, type LaneDeliveryState } from './laneStep';

export type LaneWorkerDeps = {
  dispatcher: {
    attemptInLane: (job: DeliveryJob) => Promise<LaneAttemptOutcome>;
    releaseInLane: (job: DeliveryJob, heldAt: string) => Promise<void>;
    cancelInLane: (job: DeliveryJob, reason: string) => Promise<void>;
    endpointNow: (subscriptionId: string) => Promise<{ deleted?: boolean; paused?: boolean } | undefined>;
  };
  /**
   * Where a delivery stands: `fenced`, as of every event recorded before the call (the projector waits for
   * them); else as the read model has it now, perhaps a moment behind.
   */
  laneState: (deliveryId: string, fenced: boolean) => Promise<LaneDeliveryState | undefined>;
  /** How often a waiting head is looked at again; how long one take of a head may last (under consumer_timeout). */
  timing: { pollMs: number; holdMs: number };
  now: () => Date;
  log: Logger;
  isStopping: () => boolean;
};

/**
 * Runs a lane's head to its end (see laneStep.ts): reads where its delivery stands, makes the attempt that is
 * due, waits for the next one, holds while the endpoint is paused, and lets the head go once the delivery
 * ended (succeeded, failed, exhausted, cancelled, or skipped by an operator). Nothing is kept here between
 * two looks but the job: a head taken again anywhere goes on from the record.
 */
export class LaneWorker {
  constructor(private readonly deps: LaneWorkerDeps) {}

  async runHead(job: DeliveryJob, redelivered: boolean): Promise<HeadOutcome> {
    const { deps } = this;
    const giveBackAt = deps.now().getTime() + deps.timing.holdMs;
    let madeAlready: number | undefined;
    // A head RabbitMQ gives out for the first time is read without the fence (which waits out the projection
    // lag, ~100 ms a head: 10 deliveries a second): nobody can have attempted it but a copy of it, and a copy's
    // attempt is refused by the attempt guard, after which every read is fenced. A redelivered head (a crash, a
    // requeue, a take-over) may have attempts only the log knows yet: fenced from the first read.
    let fenced = redelivered;
    for (;;) {
      if (deps.isStopping()) return 'requeue';
      const state = await this.persistently('read lane delivery', () => deps.laneState(job.delivery_id, fenced));
      fenced = true;
      const step = decideLaneStep(job, state, deps.now(), { pollMs: deps.timing.pollMs, giveBackAt });
      switch (step.kind) {
        case 'done':
          return 'ack';
        case 'requeue':
          deps.log.debug({ delivery_id: job.delivery_id }, 'lane head held as long as it may be; taken again');
          return 'requeue';
        case 'wait':
          await sleep(step.ms);
          break;
        case 'held': {
          const endpoint = await deps.dispatcher.endpointNow(job.subscription_id);
          if (stillPaused(endpoint)) {
            await sleep(deps.timing.pollMs);
            break;
          }
          // Resumed (or deleted): the hold is released here, as the lane's deliveries are no resume's to release.
          await deps.dispatcher.releaseInLane({ ...job, attempt_number: (state?.attempt_count ?? 0) + 1, last_status_code: state?.last_status_code ?? null, last_error: state?.last_error ?? null }, step.heldAt);
          break;
        }
        case 'skip':
          deps.log.info({ delivery_id: job.delivery_id, subscription_id: job.subscription_id, reason: step.reason }, "lane head skipped by an operator");
          await deps.dispatcher.cancelInLane(step.job, step.reason);
          break;
        case 'attempt': {
          const outcome = await deps.dispatcher.attemptInLane(step.job);
          if (outcome === 'ended') return 'ack';
          // The attempt was made already (another copy, or before a crash) and the record does not show it
          // yet: look again in a moment rather than asking the attempt guard over and over.
          if (madeAlready === step.job.attempt_number) await sleep(deps.timing.pollMs);
          madeAlready = step.job.attempt_number;
          break;
        }
        default: {
          const unknown: never = step;
          throw new Error(`unknown lane step ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  private persistently<T>(what: string, step: () => Promise<T>): Promise<T> {
    return persistently(what, step, this.deps);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
