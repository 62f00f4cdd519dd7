import { DEFAULT_APPLICATION_ID, isOperationalApplication, isSubscriptionEvent, topicFor, type HookpostEvent, type SubscriptionEvent, type SubscriptionState, type Topics } from '@hookpost/contracts';
import { NewerReleaseEventError, readEvent, startConcurrentConsumer, stopForNewerRelease, type EventRecord, type KafkaEventLog, type Logger } from '@hookpost/platform';
import { endpointFacts, endpointMessages } from '../delivery/operationalEvents';
import type { HeldDelivery } from '../delivery/hold';
import type { RetryingDelivery } from './projectorDeliveries';

/**
 * The dispatcher's reader of the configuration topic (endpoints' events), for what follows from a change to an
 * endpoint: a deleted endpoint's waiting retries and held deliveries are cancelled at once (rather than when each
 * comes due, hours later with the default schedule), a resumed endpoint's held deliveries are released, and
 * each change is reported to the operational endpoints (endpoint.created,
 * .updated, .deleted, .enabled, .disabled). Consumed at least once, like every topic: a change read twice
 * cancels nothing twice (the attempt guard) and reports nothing twice (the report's message id derives from
 * the change's event).
 */
export async function startConfigurationConsumer(deps: {
  kafka: Parameters<typeof startConcurrentConsumer>[0]['kafka'];
  groupId: string;
  topics: Topics;
  log: Logger;
  eventLog: Pick<KafkaEventLog, 'append'>;
  /** An endpoint's last state, deleted or not (what a report names). */
  endpointOf: (id: string) => Promise<SubscriptionState | undefined>;
  applicationUid: (appId: string) => Promise<string | null>;
  /** Whether any operational endpoint would receive a report (none: nothing is written). */
  anyAudience: () => Promise<boolean>;
  cancelRetries: (subscriptionId: string, waiting: AsyncIterable<RetryingDelivery>) => Promise<number>;
  retrying: (subscriptionId: string) => AsyncIterable<RetryingDelivery>;
  /** A paused endpoint's held deliveries (every hold recorded before the call), and what releases them on resume. */
  held: (subscriptionId: string) => AsyncIterable<HeldDelivery>;
  releaseHeld: (subscriptionId: string, held: AsyncIterable<HeldDelivery>) => Promise<number>;
  now: () => Date;
  newId: () => string;
  isStopping: () => boolean;
}): Promise<{ stop: () => Promise<void> }> {
  const { log } = deps;

  async function report(event: SubscriptionEvent): Promise<void> {
    const facts = endpointFacts(event);
    if (facts.length === 0 || !(await deps.anyAudience())) return;
    const endpoint = event.type === 'SubscriptionCreated' ? event.data : await deps.endpointOf(event.data.id);
    // (nothing is reported about the operational endpoints themselves: no loop)
    if (!endpoint || isOperationalApplication(endpoint.app_id)) return;
    const appUid = await deps.applicationUid(endpoint.app_id ?? DEFAULT_APPLICATION_ID);
    const messages = endpointMessages(event, facts, { endpoint, appUid }, deps);
    if (messages.length === 0) return;
    await deps.eventLog.append(messages.map((message): EventRecord => ({ ...topicFor(deps.topics, message as HookpostEvent), event: message })));
  }

  /** A handler that throws holds its offset back until a restart: a step that can come back is tried again here. */
  async function persistently(what: string, step: () => Promise<void>): Promise<void> {
    for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await step();
      } catch (error) {
        if (deps.isStopping()) throw error;
        log.warn({ err: error, step: what }, 'step failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  return startConcurrentConsumer({
    kafka: deps.kafka,
    // (named when it only cancelled retries; the name stays so a running deployment keeps its offsets)
    groupId: deps.groupId,
    topics: [deps.topics.subscriptions],
    concurrency: 4,
    // Changes are rare and what follows may come a moment later: long waits, few fetches.
    fetch: { minBytes: 1, maxWaitMs: 1_000 },
    log,
    handle: async ({ topic, partition, message }) => {
      const read = readEvent(message.value);
      if (!read.ok && read.newer) stopForNewerRelease(log, new NewerReleaseEventError({ topic, partition, offset: message.offset }, read.reason));
      const event = read.ok ? read.event : undefined;
      if (!event || !isSubscriptionEvent(event)) return;
      await persistently('report endpoint change', () => report(event));
      // (both read the read model and act idempotently: a change handled twice does no harm)
      if (event.type === 'SubscriptionChanged' && event.data.changes.paused === false) {
        const released = await deps.releaseHeld(event.data.id, deps.held(event.data.id));
        if (released > 0) log.info({ subscription_id: event.data.id, released }, 'held deliveries released');
        return;
      }
      if (event.type !== 'SubscriptionDeleted') return;
      const cancelled = (await deps.cancelRetries(event.data.id, deps.retrying(event.data.id))) + (await deps.cancelRetries(event.data.id, deps.held(event.data.id)));
      if (cancelled > 0) log.info({ subscription_id: event.data.id, cancelled }, 'retries cancelled');
    },
  });
}
