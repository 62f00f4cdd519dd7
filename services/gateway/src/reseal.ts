import { randomUUID } from 'node:crypto';
import { isDeleted, topicNames } from '@hookpost/contracts';
import {
  createKafka,
  KafkaEventLog,
  parseMasterKeys,
  connectSubscriptionCache,
  createLogger,
  SealedValueError,
  SecretBox,
  settingsOrExit,
  serviceCredentials,
  serviceHeaders,
  SubscriptionDirectory,
  SubscriptionWriter,
  type Logger,
} from '@hookpost/platform';
import { decideReseal } from './commands/decide';
import { readGatewayEnv, type GatewayEnv } from './env';

/**
 * npm run reseal: seals every live subscription's secret (and a previous secret still in its overlap) again
 * under the first key of HOOKPOST_SECRET_KEYS, so that an older key can be removed from the list. Each
 * subscription is changed like any other change: under the gateway's per-subscription writer lock, by
 * appending a SubscriptionChanged event (cause `resealed`), so it can run while the stack serves. The secrets
 * themselves do not change; receivers notice nothing. Run it after every service runs with the new key first
 * (or a gateway still sealing with the old key could write after it); running it again reseals nothing.
 * See docs/master-keys.md.
 */
export type ResealReport = {
  resealed: number;
  /** Already sealed under the first key (v2), with no expired previous secret left to drop. */
  alreadyCurrent: number;
  /** Not resealed, and why: a secret no configured key opens, or the subscription was busy. Run again. */
  failed: { subscription_id: string; reason: string }[];
};

const PAGE = 200;

/** The ids of every subscription the read model holds (not deleted), newest first. */
async function* liveSubscriptionIds(projectorUrl: string, headers: Record<string, string>): AsyncGenerator<string> {
  let cursor: string | null = null;
  do {
    const query: string = `limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await fetch(`${projectorUrl}/subscriptions?${query}`, { headers, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`listing subscriptions: the projector answered ${response.status}`);
    const page = (await response.json()) as { data: { id: string }[]; next_cursor: string | null };
    for (const { id } of page.data) yield id;
    cursor = page.next_cursor;
  } while (cursor);
}

export async function resealSubscriptions(env: GatewayEnv, log: Logger): Promise<ResealReport> {
  const secrets = SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS);
  const headers = serviceHeaders(serviceCredentials(env.HOOKPOST_SECRET_KEYS).send);
  // Not connectEventLog: a tool that only changes existing subscriptions has no business creating topics.
  const eventLog = new KafkaEventLog(createKafka('hookpost-reseal', env.KAFKA_BROKERS, log));
  await eventLog.connect();
  const { redis, cache } = await connectSubscriptionCache(env, log);
  const directory = new SubscriptionDirectory(cache, env.PROJECTOR_URL, headers);
  // The same writer, lock and append timeout as the gateway's (services/gateway/src/index.ts).
  const writer = new SubscriptionWriter({
    redis,
    prefix: env.HOOKPOST_REDIS_PREFIX,
    directory,
    cache,
    append: (records) => eventLog.append(records, { timeoutMs: env.HOOKPOST_APPEND_TIMEOUT_MS }),
    topics: topicNames(env.HOOKPOST_TOPIC_PREFIX),
    log,
    lockTtlMs: env.HOOKPOST_APPEND_TIMEOUT_MS + 20_000,
  });
  const deps = { now: () => new Date(), newId: randomUUID, secrets };
  const report: ResealReport = { resealed: 0, alreadyCurrent: 0, failed: [] };
  try {
    for await (const id of liveSubscriptionIds(env.PROJECTOR_URL, headers)) {
      try {
        const { result } = await writer.change(id, (current) => {
          if (!current || isDeleted(current)) return { events: [], result: 'gone' as const };
          const event = decideReseal(current, deps);
          return event ? { events: [event], result: 'resealed' as const } : { events: [], result: 'current' as const };
        });
        if (result === 'resealed') report.resealed += 1;
        if (result === 'current') report.alreadyCurrent += 1;
      } catch (error) {
        // A value no key opens stays as it is (its deliveries fail saying so); anything else: run again.
        if (!(error instanceof SealedValueError)) log.warn({ err: error, subscription_id: id }, 'subscription not resealed');
        report.failed.push({ subscription_id: id, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await eventLog.disconnect();
    await redis.quit();
  }
  return report;
}

if (require.main === module) {
  const env = settingsOrExit('reseal', () => readGatewayEnv());
  const log = createLogger('reseal', env.LOG_LEVEL);
  resealSubscriptions(env, log).then(
    (report) => {
      const first = parseMasterKeys(env.HOOKPOST_SECRET_KEYS)[0]!.id;
      log.info({ ...report, sealing_key_id: first }, 'reseal finished');
      for (const { subscription_id, reason } of report.failed) process.stderr.write(`not resealed: ${subscription_id}: ${reason}\n`);
      process.stderr.write(
        `resealed ${report.resealed}, already under key "${first}" ${report.alreadyCurrent}, not resealed ${report.failed.length}` +
          (report.failed.length === 0 ? ': keys other than the first can be removed once every service runs with the new list\n' : '\n'),
      );
      process.exit(report.failed.length === 0 ? 0 : 1);
    },
    (error: unknown) => {
      log.fatal({ err: error }, 'reseal failed');
      process.exit(1);
    },
  );
}
