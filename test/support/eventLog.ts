import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { eventually, uniqueRunId } from './wait';

export type LoggedMessage = { partition: number; offset: string; key: string | null; value: string | null; headers: IHeaders };

/** Every message in `topic` up to its end at the time of the call, read from the beginning by a throwaway group. */
export async function readTopic(brokers: string, topic: string): Promise<LoggedMessage[]> {
  const kafka = new Kafka({ clientId: 'test-log-reader', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high, low }) => [partition, { high: BigInt(high), low: BigInt(low) }]));
  const groupId = `test-log-reader-${uniqueRunId()}`;
  const messages: LoggedMessage[] = [];
  const reached = new Map<number, bigint>();
  const consumer = kafka.consumer({ groupId });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers: message.headers ?? {} });
        reached.set(partition, BigInt(message.offset) + 1n);
      },
    });
    await eventually(
      async () => ([...ends].every(([partition, { high, low }]) => high === low || (reached.get(partition) ?? 0n) >= high) ? true : undefined),
      { what: `the end of ${topic}`, timeoutMs: 30_000 },
    );
    return messages.filter((message) => BigInt(message.offset) < ends.get(message.partition)!.high);
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
