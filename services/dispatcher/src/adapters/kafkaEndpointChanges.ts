import type { Kafka } from 'kafkajs';
import { decodeEvent, startConcurrentConsumer, type FetchSettings, type Logger } from '@hookpost/platform';

/**
 * The endpoint changes the dispatcher acts on at once, read from the configuration topic by a consumer group
 * of its own: a deleted endpoint's waiting deliveries are cancelled (rather than when each comes due, hours
 * later with the default schedule), and a resumed endpoint's held deliveries are released. Both handlers read
 * the read model and act idempotently, so a change handled twice (a redelivery after a crash) does no harm.
 */
export function startEndpointChangesConsumer(options: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  log: Logger;
  deleted: (endpointId: string) => Promise<void>;
  resumed: (endpointId: string) => Promise<void>;
}) {
  // Deletions and resumes are rare and may be acted on a moment later: long waits, few fetches.
  const fetch: FetchSettings = { minBytes: 1, maxWaitMs: 1_000 };
  return startConcurrentConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    concurrency: 4,
    fetch,
    log: options.log,
    handle: async ({ message }) => {
      const event = decodeEvent(message.value);
      if (event?.type === 'SubscriptionDeleted') return options.deleted(event.data.id);
      if (event?.type === 'SubscriptionChanged' && event.data.changes.paused === false) return options.resumed(event.data.id);
    },
  });
}
