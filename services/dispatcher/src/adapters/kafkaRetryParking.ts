import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { KafkaEventLog } from '@hookpost/platform';
import type { UnreadableRetry } from './rabbitRetryQueue';

/**
 * Parks a retry message that is not a job on the Kafka dead-letter topic, where every other unreadable
 * message goes: durable (RabbitMQ is only the timer, and a parked message must outlive a wiped broker),
 * with the queue it came from, its RabbitMQ headers and the reason. Offset and partition are -1: it never
 * had any. The delivery itself is not lost with it: the log still shows it `retrying`, and the reconciler
 * re-schedules it once overdue.
 */
export function parkRetriesOnKafka(eventLog: Pick<KafkaEventLog, 'park'>, deadLetterTopic: string, parked: (queue: string) => void) {
  return async (unreadable: UnreadableRetry): Promise<void> => {
    const headers: IHeaders = { 'x-hookpost-source-system': 'rabbitmq' };
    for (const [name, value] of Object.entries(unreadable.headers)) {
      if (value !== undefined && value !== null) headers[name] = Buffer.isBuffer(value) ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    const message: KafkaMessage = { key: null, value: unreadable.content, headers, timestamp: String(Date.now()), attributes: 0, offset: '-1' };
    await eventLog.park(deadLetterTopic, { topic: unreadable.queue, partition: -1, message }, unreadable.reason);
    parked(unreadable.queue);
  };
}
