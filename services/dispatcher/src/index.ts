import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isGone, newTimeOrderedUuid, OPERATIONAL_APPLICATION_ID, topicFor, type HookpostEvent, type WebhookReceived } from '@hookpost/contracts';
import {
  atMostEvery,
  cachedReadiness,
  serviceCredentials,
  serviceHeaders,
  createLogger,
  EntityDirectory,
  readEvent,
  NewerReleaseEventError,
  stopForNewerRelease,
  closeServer,
  createMetricsRegistry,
  kafkaAnswers,
  kafkaLagGauge,
  poisonMessagesCounter,
  prometheus,
  within,
  connectEventLog,
  connectSubscriptionCache,
  listen,
  runService,
  SecretBox,
  PayloadKeyring,
  payloadNodeContext,
  projectorPayloadKeys,
  settingsOrExit,
  ShutdownManager,
  startConcurrentConsumer,
  TargetPolicy,
  SubscriptionDirectory,
  SubscriptionWriter,
  type Logger,
} from '@hookpost/platform';
import { caresResolver } from './adapters/caresResolver';
import { HttpEndpointClient } from './adapters/httpEndpointClient';
import { RabbitRetryQueue, retryTiers, tierFor } from './adapters/rabbitRetryQueue';
import { RabbitLanes } from './adapters/rabbitLanes';
import { LaneWorker } from './lane/laneWorker';
import { dispatcherMetrics, rateLimitMetrics, retryRecoveryMetrics } from './dispatcherMetrics';
import { ApplicationRateLimits } from './delivery/rateLimit';
import { RedisRateLimiter } from './adapters/redisRateLimiter';
import { EndpointShares } from './delivery/endpointShare';
import { endpointsOfApplication, expungedMessages, heldDeliveries, laneBacklog, laneDeliveryState, lanesWithWork, messageById, overdueRetries, redeliverablePages, retryingDeliveries, taskState } from './adapters/projectorDeliveries';
import { KafkaLogScan } from './adapters/kafkaLogScan';
import { BackgroundTasks } from './backgroundTasks';
import { RedisAttemptGuard } from './adapters/redisAttemptGuard';
import { RedisEndpointHealth } from './adapters/redisEndpointHealth';
import { startConfigurationConsumer } from './adapters/configurationConsumer';
import { applicationUid, attemptContextOf, endpointLastState, operationalAudience } from './adapters/operationalLookups';
import { LaneRestorer } from './lane/laneRestore';
import { RetryReconciler } from './adapters/retryReconciler';
import { parkRetriesOnKafka } from './adapters/kafkaRetryParking';
import { buildDispatcherApp } from './app';
import { Dispatcher } from './dispatcher';
import type { DeliveryJob } from './delivery/deliveryJob';
import { readDispatcherEnv, type DispatcherEnv } from './env';

export type RunningDispatcher = { port: number; stop: () => Promise<void> };

function firstAttempt(received: WebhookReceived): DeliveryJob {
  return { ...received, attempt_number: 1, last_status_code: null, last_error: null };
}

/** Composition root: consume received webhooks from Kafka and due retries from RabbitMQ, attempt each. */
export async function startDispatcher(env: DispatcherEnv, log: Logger = createLogger('dispatcher', env.LOG_LEVEL)): Promise<RunningDispatcher> {
  const shutdown = new ShutdownManager(log, 25_000);
  let stopping = false;
  const secretBox = SecretBox.fromConfig(env.HOOKPOST_SECRET_KEYS);
  const projectorHeaders = serviceHeaders(serviceCredentials(env.HOOKPOST_SECRET_KEYS).send);
  const policy = {
    schedule: env.HOOKPOST_RETRY_SCHEDULE_MS,
    jitter: env.HOOKPOST_RETRY_JITTER_PERCENT / 100,
    retryAfterMaxMs: env.HOOKPOST_RETRY_AFTER_MAX_MS,
  };

  const { kafka, eventLog, topics } = await connectEventLog('hookpost-dispatcher', env, log);

  const { redis, cache, applications } = await connectSubscriptionCache(env, log);

  const longestTier = Math.max(env.HOOKPOST_RETRY_AFTER_MAX_MS, ...policy.schedule);
  const retries = await RabbitRetryQueue.connect({
    url: env.AMQP_URL,
    prefix: env.HOOKPOST_TOPIC_PREFIX,
    tiers: retryTiers(policy.schedule, longestTier),
    limits: { maxMessages: env.HOOKPOST_RETRY_QUEUE_MAX_MESSAGES, maxBytes: env.HOOKPOST_RETRY_QUEUE_MAX_BYTES },
    log,
  });
  // Ordered endpoints' lanes: a queue per endpoint, a single active consumer among the dispatchers.
  const lanes = await RabbitLanes.connect({ url: env.AMQP_URL, prefix: env.HOOKPOST_TOPIC_PREFIX, log });
  const metrics = createMetricsRegistry('dispatcher');
  const tierLabel = (delayMs: number) => `${tierFor(retries.tiers, delayMs) ?? 0}ms`;
  const endpoint = new HttpEndpointClient(new TargetPolicy(env.HOOKPOST_ALLOWED_TARGET_CIDRS), {
    resolve: caresResolver({ timeoutMs: env.HOOKPOST_DNS_TIMEOUT_MS }),
    // The shares keep requests to one origin under this, so none ever queues inside the client.
    connectionsPerOrigin: env.HOOKPOST_ENDPOINT_CONCURRENCY,
    log,
  });
  const shares = new EndpointShares({
    perEndpoint: env.HOOKPOST_ENDPOINT_CONCURRENCY,
    waitingPerEndpoint: env.HOOKPOST_ENDPOINT_QUEUE,
    waitMs: env.HOOKPOST_ENDPOINT_WAIT_MS,
  });
  const directory = new SubscriptionDirectory(cache, env.PROJECTOR_URL, projectorHeaders);
  const applicationDirectory = new EntityDirectory(applications, env.PROJECTOR_URL, projectorHeaders, 'applications');
  // An application's default rate limit, read from its cache entry (the read model on a miss) every 5 s at most.
  const applicationRateLimits = new ApplicationRateLimits(async (appId) => {
    const application = await applicationDirectory.find(appId);
    return application && !isGone(application) ? application.rate_limit : null;
  });
  const recovery = retryRecoveryMetrics(metrics);
  const now = () => new Date();
  // Time-ordered: an attempt's id is its event's, and the Svix API lists attempts in id order.
  const newId = () => newTimeOrderedUuid(Date.now(), randomBytes(10));
  // (bounded like the other lookups of a report: a read model that cannot answer in time means "write it")
  const anyAudience = operationalAudience(() => within(2_000, endpointsOfApplication(env.PROJECTOR_URL, OPERATIONAL_APPLICATION_ID, projectorHeaders)));
  const healthLimits = {
    probeAfterFailures: env.HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES,
    probeIntervalMs: env.HOOKPOST_ENDPOINT_PROBE_INTERVAL_MS,
    disableAfterMs: env.HOOKPOST_ENDPOINT_DISABLE_AFTER_MS,
  };
  const observed = dispatcherMetrics(metrics, tierLabel);
  const dispatcher = new Dispatcher({
    directory,
    endpointsOf: (appId) => endpointsOfApplication(env.PROJECTOR_URL, appId, projectorHeaders),
    fanOutConcurrency: env.DISPATCHER_FANOUT_CONCURRENCY,
    messageById: (id) => messageById(env.PROJECTOR_URL, id, projectorHeaders),
    writer: new SubscriptionWriter({
      redis,
      prefix: env.HOOKPOST_REDIS_PREFIX,
      directory,
      cache,
      append: (records) => eventLog.append(records),
      topics,
      log,
    }),
    endpoint,
    retries,
    lanes,
    shares,
    rateLimiter: new RedisRateLimiter(redis, env.HOOKPOST_REDIS_PREFIX),
    applicationRateLimit: (appId) => applicationRateLimits.of(appId),
    rateWindow: { waitMs: env.HOOKPOST_RATE_LIMIT_WAIT_MS, waitingPerEndpoint: env.HOOKPOST_ENDPOINT_QUEUE },
    paced: rateLimitMetrics(metrics).paced,
    guard: new RedisAttemptGuard(redis, env.HOOKPOST_REDIS_PREFIX, { leaseMs: env.HOOKPOST_ATTEMPT_LEASE_MS, doneTtlMs: env.HOOKPOST_ATTEMPT_DONE_TTL_MS }),
    // A record outlives the disable period (so a failing endpoint's clock keeps running between its attempts),
    // and a day at least (so probing outlives the longest retry delay).
    health: new RedisEndpointHealth(redis, env.HOOKPOST_REDIS_PREFIX, Math.max(healthLimits.disableAfterMs, 86_400_000)),
    healthLimits,
    operational: {
      failingAttempt: env.HOOKPOST_OPERATIONAL_FAILING_ATTEMPT,
      anyAudience,
      contextOf: attemptContextOf({ applications: applicationDirectory, messageById: (id) => messageById(env.PROJECTOR_URL, id, projectorHeaders) }),
    },
    leaseMs: env.HOOKPOST_ATTEMPT_LEASE_MS,
    skipped: recovery.skipped,
    released: recovery.released,
    eventLog,
    secretBox,
    payloads: new PayloadKeyring(
      projectorPayloadKeys(env.PROJECTOR_URL, projectorHeaders, (sealed, bucketId, prefix) => Buffer.from(secretBox.open(sealed, payloadNodeContext(bucketId, prefix)), 'base64')),
      { cacheMs: env.HOOKPOST_PAYLOAD_KEY_CACHE_MS, now: () => new Date() },
    ),
    policy,
    defaultTimeoutMs: env.HOOKPOST_DELIVERY_TIMEOUT_MS,
    topicPrefix: env.HOOKPOST_TOPIC_PREFIX,
    log,
    now,
    newId,
    random: Math.random,
    isStopping: () => stopping,
    observe: observed.observe,
  });

  const admin = kafka.admin();
  await admin.connect();
  // A few rounds of the fan-out's concurrency per chunk: big enough to keep the attempts busy, small enough
  // that a cancel stops a task within a second or so.
  const taskChunk = Math.max(16, env.DISPATCHER_FANOUT_CONCURRENCY * 4);
  const tasks = new BackgroundTasks({
    dispatcher,
    taskState: (id) => taskState(env.PROJECTOR_URL, id, projectorHeaders),
    redeliverable: (query) => redeliverablePages(env.PROJECTOR_URL, query, projectorHeaders),
    logScan: new KafkaLogScan({ kafka, admin, topic: topics.webhooks, groupPrefix: env.HOOKPOST_TOPIC_PREFIX, log, chunkSize: taskChunk }),
    expunged: (appId, ids) => expungedMessages(env.PROJECTOR_URL, appId, ids, projectorHeaders),
    record: async (events: HookpostEvent[]) => {
      await eventLog.append(events.map((event) => ({ ...topicFor(topics, event), event })), { timeoutMs: 10_000 });
      observed.observe(events);
    },
    every: { messages: env.HOOKPOST_TASK_CHECKPOINT_MESSAGES, ms: env.HOOKPOST_TASK_CHECKPOINT_MS },
    chunkSize: taskChunk,
    log,
    now,
    newId,
    isStopping: () => stopping,
  });

  const poison = poisonMessagesCounter(metrics);
  const groupId = `${env.HOOKPOST_TOPIC_PREFIX}${env.DISPATCHER_GROUP_ID}`;
  const consumer = await startConcurrentConsumer({
    kafka,
    groupId,
    topics: [topics.webhooks],
    concurrency: env.DISPATCHER_CONCURRENCY,
    fetch: { minBytes: env.DISPATCHER_FETCH_MIN_BYTES, maxWaitMs: env.DISPATCHER_FETCH_MAX_WAIT_MS, lingerMs: env.DISPATCHER_FETCH_LINGER_MS },
    log,
    handle: async ({ topic, message, partition }) => {
      const read = readEvent(message.value);
      if (read.ok && read.event.type === 'MessageCreated') {
        await dispatcher.fanOut(read.event.data);
        return;
      }
      if (read.ok && read.event.type === 'RedeliveryRequested') {
        // (a recover or replay runs here to its end: its offset is committed only then, see backgroundTasks.ts)
        await (read.event.data.kind === 'resend' ? dispatcher.resend(read.event.data) : tasks.run(read.event.data));
        return;
      }
      if (read.ok && read.event.type === 'BackgroundTaskCancelled') {
        if (tasks.cancel(read.event.data.task_id)) log.info({ task_id: read.event.data.task_id }, 'background task cancelled');
        return;
      }
      // Expunges change the read model only; a task's progress and end are this service's own records.
      if (
        read.ok &&
        (read.event.type === 'MessageContentExpunged' ||
          read.event.type === 'AttemptContentExpunged' ||
          read.event.type === 'BackgroundTaskProgressed' ||
          read.event.type === 'BackgroundTaskFinished')
      ) {
        return;
      }
      if (!read.ok && read.newer) stopForNewerRelease(log, new NewerReleaseEventError({ topic, partition, offset: message.offset }, read.reason));
      if (!read.ok || read.event.type !== 'WebhookReceived') {
        // A poison message neither crashes the consumer nor stalls its partition: it is parked and counted.
        const reason = read.ok ? `unexpected event type ${read.event.type}` : read.reason;
        log.error({ topic, partition, offset: message.offset, reason }, 'unreadable message parked on the dead-letter topic');
        await eventLog.park(topics.deadLetters, { topic, partition, message }, reason);
        poison.inc({ topic });
        return;
      }
      await dispatcher.attempt(firstAttempt(read.event.data));
    },
  });
  // A deleted endpoint's waiting and held deliveries are cancelled right away, a resumed one's held deliveries
  // released; every change is reported to the operational endpoints.
  const configuration = await startConfigurationConsumer({
    kafka,
    groupId: `${groupId}.deletions`,
    topics,
    log,
    eventLog,
    endpointOf: (id) => endpointLastState(env.PROJECTOR_URL, id, projectorHeaders),
    applicationUid: (appId) => applicationUid(applicationDirectory, appId),
    anyAudience,
    cancelRetries: (id, waiting) => dispatcher.cancelRetries(id, waiting),
    retrying: (id) => retryingDeliveries(env.PROJECTOR_URL, id, projectorHeaders),
    held: (id) => heldDeliveries(env.PROJECTOR_URL, id, projectorHeaders),
    releaseHeld: (id, held) => dispatcher.releaseHeld(id, held),
    now,
    newId,
    isStopping: () => stopping,
  });
  await retries.consume(
    Math.min(env.DISPATCHER_CONCURRENCY, 1_000),
    (job) => dispatcher.attempt(job),
    parkRetriesOnKafka(eventLog, topics.deadLetters, (queue) => poison.inc({ topic: queue })),
  );
  const laneWorker = new LaneWorker({
    dispatcher,
    laneState: (id, fenced) => laneDeliveryState(env.PROJECTOR_URL, id, projectorHeaders, fenced),
    timing: { pollMs: env.HOOKPOST_LANE_POLL_MS, holdMs: env.HOOKPOST_LANE_HOLD_MS },
    now,
    log,
    isStopping: () => stopping,
  });
  await lanes.start({
    runHead: (job, redelivered) => laneWorker.runHead(job, redelivered),
    park: parkRetriesOnKafka(eventLog, topics.deadLetters, (queue) => poison.inc({ topic: queue })),
  });
  // Every dispatcher consumes every lane with work (RabbitMQ lets one of them send): the ones this process
  // fills itself, and the ones the read model shows unfinished deliveries for, looked for now and then.
  // A lane RabbitMQ lost is put together again from the read model (lane/laneRestore.ts), after the grace the
  // retry reconciler gives a retry.
  const laneRestorer = new LaneRestorer({
    backlog: (id) => laneBacklog(env.PROJECTOR_URL, id, projectorHeaders),
    enqueue: (jobs) => lanes.enqueue(jobs),
    graceMs: env.HOOKPOST_RETRY_RECONCILE_GRACE_MS,
    now,
    log,
    restored: recovery.reconciled,
  });
  const discoverLanes = async () => {
    for (const id of await lanesWithWork(env.PROJECTOR_URL, projectorHeaders)) {
      await lanes.consume(id);
      await laneRestorer.check(id);
    }
  };
  await discoverLanes().catch((error: unknown) => log.warn({ err: error }, 'lanes with work not listed; looked for again later'));
  const laneDiscovery = setInterval(() => {
    if (!stopping) discoverLanes().catch((error: unknown) => log.warn({ err: error }, 'lanes with work not listed; looked for again later'));
  }, env.HOOKPOST_LANE_DISCOVERY_MS);
  laneDiscovery.unref();
  const reconciler = new RetryReconciler({
    overdue: (dueBefore) => overdueRetries(env.PROJECTOR_URL, dueBefore, projectorHeaders),
    retries,
    intervalMs: env.HOOKPOST_RETRY_RECONCILE_INTERVAL_MS,
    graceMs: env.HOOKPOST_RETRY_RECONCILE_GRACE_MS,
    now: () => new Date(),
    log,
    rescheduled: recovery.reconciled,
  });
  reconciler.start();

  kafkaLagGauge(metrics, admin, { [groupId]: [topics.webhooks] });
  const readyDepth = new prometheus.Gauge({
    name: 'hookpost_retry_ready_messages',
    help: 'Retries due and waiting in the ready queue',
    registers: [metrics],
    collect: () => refreshReadyDepth(),
  });
  const refreshReadyDepth = atMostEvery(1_000, async () => {
    const depth = await retries.readyDepth().catch(() => undefined);
    if (depth !== undefined) readyDepth.set(depth);
  });
  const readiness = await cachedReadiness(async () => retries.connected && lanes.connected && (await within(2_000, redis.ping())) === 'PONG' && (await kafkaAnswers(admin)));
  const app = buildDispatcherApp({
    log,
    metrics,
    // Ready when it can take work from both sources and record what it does.
    ready: readiness.ready,
    metricsToken: env.HOOKPOST_METRICS_TOKEN || undefined,
  });
  const server = await listen(app, env.DISPATCHER_PORT, env.HOOKPOST_BIND_HOST);

  shutdown.add('mark stopping', async () => {
    stopping = true;
  });
  // (the heads in hand are given back as soon as they see the service stopping: none must come back here)
  shutdown.add('lane consumers', () => lanes.stopTaking());
  shutdown.add('retry reconciler', () => reconciler.stop());
  shutdown.add('kafka consumer', () => consumer.stop());
  shutdown.add('configuration consumer', () => configuration.stop());
  shutdown.add('retry consumer', () => retries.close());
  shutdown.add('lanes', async () => {
    clearInterval(laneDiscovery);
    await lanes.close();
  });
  shutdown.add('kafka producer', () => eventLog.disconnect());
  shutdown.add('http', () => closeServer(server));
  shutdown.add('readiness checks', async () => readiness.stop());
  shutdown.add('endpoint client', () => endpoint.close());
  shutdown.add('kafka admin', () => admin.disconnect());
  shutdown.add('redis', async () => {
    await redis.quit();
  });

  const port = (server.address() as AddressInfo).port;
  log.info({ port, tiers: retries.tiers }, 'dispatcher ready');
  return { port, stop: () => shutdown.stop() };
}

if (require.main === module) {
  const env = settingsOrExit('dispatcher', () => readDispatcherEnv());
  const log = createLogger('dispatcher', env.LOG_LEVEL);
  runService(log, () => startDispatcher(env, log));
}
