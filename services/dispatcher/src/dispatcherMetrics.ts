import type { HookpostEvent } from '@hookpost/contracts';
import type { RatePacingOutcome } from './delivery/rateLimit';
import { prometheus, type Registry } from '@hookpost/platform';

/** What the dispatcher counts, derived from the events it records. */
export function dispatcherMetrics(registry: Registry, tierOf: (delayMs: number) => string) {
  const deliveries = new prometheus.Counter({
    name: 'hookpost_deliveries_total',
    help: 'Deliveries that reached an outcome, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const attempts = new prometheus.Histogram({
    name: 'hookpost_attempt_duration_seconds',
    help: 'Delivery attempt duration, by result class (2xx, 4xx, 5xx, error)',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [registry],
  });
  const deferred = new prometheus.Counter({
    name: 'hookpost_attempts_deferred_total',
    help: 'Attempts put off (not made, not counted): their endpoint had no free slot, or is failing and being probed',
    registers: [registry],
  });
  const held = new prometheus.Counter({
    name: 'hookpost_attempts_held_total',
    help: 'Attempts held (not made, not counted) because their endpoint is paused',
    registers: [registry],
  });
  const tasks = new prometheus.Counter({
    name: 'hookpost_background_tasks_total',
    help: 'Background tasks (recover, replay-missing, replay from the log) that ended in this dispatcher, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const retries = new prometheus.Counter({
    name: 'hookpost_retries_scheduled_total',
    help: 'Retries scheduled, by the delay tier they went to first',
    labelNames: ['tier'],
    registers: [registry],
  });
  return {
    observe(events: readonly HookpostEvent[]): void {
      for (const event of events) {
        switch (event.type) {
          case 'DeliveryAttempted': {
            const code = event.data.status_code;
            attempts.observe({ result: code === null ? 'error' : `${Math.floor(code / 100)}xx` }, event.data.duration_ms / 1000);
            break;
          }
          case 'DeliverySucceeded':
            deliveries.inc({ outcome: 'succeeded' });
            break;
          case 'DeliveryFailed':
            deliveries.inc({ outcome: 'failed' });
            break;
          case 'DeliveryCancelled':
            deliveries.inc({ outcome: 'cancelled' });
            break;
          case 'DeliveryRetryScheduled':
            retries.inc({ tier: tierOf(event.data.delay_ms) });
            break;
          case 'DeliveryDeferred':
            deferred.inc();
            break;
          case 'DeliveryHeld':
            held.inc();
            break;
          case 'BackgroundTaskFinished':
            tasks.inc({ outcome: event.data.outcome });
            break;
          default:
            break;
        }
      }
    },
  };
}

/** What the retry safety nets do: copies of an attempt skipped by the attempt guard, retries the reconciler re-scheduled. */
export function retryRecoveryMetrics(registry: Registry) {
  const skipped = new prometheus.Counter({
    name: 'hookpost_attempts_skipped_total',
    help: 'Copies of an attempt that was made (or cancelled) already, and cancels another path had made, skipped',
    labelNames: ['why'],
    registers: [registry],
  });
  const reconciled = new prometheus.Counter({
    name: 'hookpost_retries_reconciled_total',
    help: 'Retries overdue in the log that the reconciler re-scheduled (RabbitMQ lost or delayed them)',
    registers: [registry],
  });
  const released = new prometheus.Counter({
    name: 'hookpost_holds_released_total',
    help: 'Held attempts released (their endpoint resumed) and scheduled at once',
    registers: [registry],
  });
  return {
    skipped: (why: 'attempted already' | 'cancel not needed') => skipped.inc({ why }),
    reconciled: (count: number) => reconciled.inc(count),
    released: (count: number) => released.inc(count),
  };
}


/** How attempts of rate-limited endpoints went past the limit, and how long those that waited in-process waited. */
export function rateLimitMetrics(registry: Registry) {
  const paced = new prometheus.Counter({
    name: 'hookpost_rate_limited_attempts_total',
    help: "Attempts of endpoints with a rate limit, by what the limit did: 'at once', 'waited' (in-process), 'too late' (the slot was reached late and another asked for), 'deferred' (to their turn), 'limiter unreachable' (deferred)",
    labelNames: ['outcome'],
    registers: [registry],
  });
  const waited = new prometheus.Histogram({
    name: 'hookpost_rate_limit_wait_seconds',
    help: 'In-process waits of attempts for their request slot under a rate limit',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1],
    registers: [registry],
  });
  return {
    paced: (outcome: RatePacingOutcome, waitMs: number) => {
      paced.inc({ outcome });
      if (outcome === 'waited') waited.observe(waitMs / 1000);
    },
  };
}
