import { SpanStatusCode, trace } from '@opentelemetry/api';
import { topicFor, topicNames, type HookpostEvent, type SubscriptionState } from '@hookpost/contracts';
import { signedHeaders } from '@hookpost/signing';
import { isDeleted, type EventRecord, type KafkaEventLog, type Logger, type RedisSubscriptionCache, type SecretBox, type SubscriptionDirectory } from '@hookpost/platform';
import { decideAfterAttempt, decideCancel } from './delivery/decideAfterAttempt';
import type { DeliveryJob } from './delivery/deliveryJob';
import type { RetryPolicy } from './delivery/retryPolicy';
import type { HttpEndpointClient } from './adapters/httpEndpointClient';
import type { RetryingDelivery } from './adapters/projectorDeliveries';

const tracer = trace.getTracer('hookpost-dispatcher');

export type DispatcherDeps = {
  directory: Pick<SubscriptionDirectory, 'find'>;
  cache: Pick<RedisSubscriptionCache, 'put'>;
  endpoint: Pick<HttpEndpointClient, 'post'>;
  retries: { schedule: (job: DeliveryJob, delayMs: number) => Promise<void> };
  eventLog: Pick<KafkaEventLog, 'append'>;
  secretBox: Pick<SecretBox, 'open'>;
  policy: RetryPolicy;
  defaultTimeoutMs: number;
  topicPrefix: string;
  log: Logger;
  now: () => Date;
  newId: () => string;
  random: () => number;
  isStopping: () => boolean;
  observe?: (events: readonly HookpostEvent[]) => void;
};

/**
 * Makes one attempt of a delivery and records it. Once the endpoint has been called, recording the outcome
 * (and scheduling the retry) is retried here until it succeeds, so a broker hiccup never re-POSTs, and
 * never drops, a delivery. The caller acknowledges its message only after this resolves.
 */
export class Dispatcher {
  private readonly topics;

  constructor(private readonly deps: DispatcherDeps) {
    this.topics = topicNames(deps.topicPrefix);
  }

  attempt(job: DeliveryJob): Promise<void> {
    return tracer.startActiveSpan(
      'webhook attempt',
      { attributes: { 'hookpost.delivery_id': job.delivery_id, 'hookpost.subscription_id': job.subscription_id, 'hookpost.attempt_number': job.attempt_number } },
      async (span) => {
        try {
          const statusCode = await this.attemptInSpan(job);
          if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  /** Returns the endpoint's status code, when it answered. */
  private async attemptInSpan(job: DeliveryJob): Promise<number | undefined> {
    const { deps } = this;
    const subscription = await this.persistently('look up subscription', () => deps.directory.find(job.subscription_id));
    if (!subscription || isDeleted(subscription)) {
      await this.record(decideCancel(job, 'subscription deleted', deps));
      return undefined;
    }
    if (!subscription.is_active) {
      await this.record(decideCancel(job, 'subscription disabled', deps));
      return undefined;
    }

    const body = JSON.stringify(job.payload);
    const startedAt = deps.now();
    const headers = {
      ...signedHeaders(this.signingSecrets(subscription, startedAt), job.delivery_id, startedAt, body),
      'content-type': 'application/json',
      'user-agent': 'Hookpost/0.1 (+https://github.com/hookpost/hookpost)',
    };
    const response = await deps.endpoint.post(subscription.target_url, headers, body, subscription.timeout_ms ?? deps.defaultTimeoutMs);
    deps.log.debug(
      { delivery_id: job.delivery_id, subscription_id: job.subscription_id, attempt: job.attempt_number, result: response.result },
      'attempt made',
    );
    const decision = decideAfterAttempt(job, subscription, { ...response, started_at: startedAt }, deps.policy, deps);
    const retry = decision.retry;
    if (retry) await this.persistently('schedule retry', () => deps.retries.schedule(retry.job, retry.delayMs));
    await this.record(decision.events);
    if (decision.disabledSubscription) await deps.cache.put(decision.disabledSubscription).catch(() => undefined);
    return response.result.kind === 'response' ? response.result.statusCode : undefined;
  }

  /**
   * A deleted subscription's waiting retries end now rather than when each comes due (hours, with the
   * default schedule). A retry that was not yet in the read model is cancelled when it comes due instead.
   */
  async cancelRetries(subscriptionId: string, waiting: AsyncIterable<RetryingDelivery>): Promise<number> {
    let cancelled = 0;
    for await (const delivery of waiting) {
      const job: DeliveryJob = {
        delivery_id: delivery.id,
        subscription_id: subscriptionId,
        event_type: delivery.event_type,
        payload: {},
        received_at: delivery.created_at,
        attempt_number: delivery.attempt_count + 1,
        last_status_code: delivery.last_status_code,
        last_error: delivery.last_error,
      };
      await this.record(decideCancel(job, 'subscription deleted', this.deps));
      cancelled += 1;
    }
    return cancelled;
  }

  /** The current secret, and during a rotation's overlap the previous one too (both sign). */
  private signingSecrets(subscription: SubscriptionState, now: Date): string[] {
    const secrets = [this.deps.secretBox.open(subscription.secret)];
    const expiresAt = subscription.previous_secret_expires_at;
    if (subscription.previous_secret && expiresAt && Date.parse(expiresAt) > now.getTime()) secrets.push(this.deps.secretBox.open(subscription.previous_secret));
    return secrets;
  }

  private record(events: HookpostEvent[]): Promise<void> {
    const records: EventRecord[] = events.map((event) => ({ ...topicFor(this.topics, event), event }));
    return this.persistently('record attempt', () => this.deps.eventLog.append(records)).then(() => this.deps.observe?.(events));
  }

  /** Retries `step` with backoff until it succeeds or the service is stopping (then the message comes back). */
  private async persistently<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await step();
      } catch (error) {
        if (this.deps.isStopping()) throw error;
        this.deps.log.warn({ err: error, step: what }, 'step failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
