import amqp from 'amqplib';
import { Client } from 'pg';
import { retryTiers } from '../../services/dispatcher/src/adapters/rabbitRetryQueue';
import { eventually } from './wait';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';

/**
 * These faults need a hundred and more retries waiting at one failing endpoint. Circuit breaking would probe
 * that endpoint after 10 failures in a row and defer the rest (pending, not retrying): it is off here; its
 * own tests are circuitBreaking.e2e.
 */
export const RETRIES_NOT_PROBED = { HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: '0' } as const;

/** Deletes one run's retry queues and exchange, with whatever they hold, behind the dispatcher's back. */
export async function deleteRetryQueues(env: Record<string, string>): Promise<{ messages: number }> {
  const prefix = env.HOOKPOST_TOPIC_PREFIX!;
  const schedule = env.HOOKPOST_RETRY_SCHEDULE_MS!.split(',').map(Number);
  const tiers = retryTiers(schedule, Math.max(Number(env.HOOKPOST_RETRY_AFTER_MAX_MS ?? 0), ...schedule));
  const connection = await amqp.connect(env.AMQP_URL!);
  try {
    const channel = await connection.createChannel();
    let messages = 0;
    for (const queue of [...tiers.map((ms) => `${prefix}hookpost.retry.tier.${ms}ms`), `${prefix}hookpost.retry.ready`]) {
      messages += (await channel.deleteQueue(queue)).messageCount;
    }
    await channel.deleteExchange(`${prefix}hookpost.retry`);
    await channel.close();
    return { messages };
  } finally {
    await connection.close();
  }
}

/** Waits until at least `count` deliveries of the run are `retrying` in its read model; returns how many are. */
export async function retryingAtLeast(schema: string, count: number, timeoutMs = 60_000): Promise<number> {
  const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
  try {
    return await eventually(
      async () => {
        const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'retrying' AND payload IS NOT NULL");
        const n = Number(rows[0]!.n);
        return n >= count ? n : undefined;
      },
      { what: `${count} deliveries retrying`, timeoutMs, intervalMs: 200 },
    );
  } finally {
    await db.end();
  }
}
