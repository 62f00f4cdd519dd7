import { commonEnv, EnvError, envs, parseEnv, topicEnv } from '@hookpost/platform';
import { standardWebhooksSchedule } from './delivery/retryPolicy';

export const dispatcherEnvSpec = {
  ...commonEnv,
  ...topicEnv,
  DISPATCHER_PORT: envs.int(8002, { min: 0, max: 65535 }),
  PROJECTOR_URL: envs.string('http://127.0.0.1:8001'),
  AMQP_URL: envs.string('amqp://guest:guest@127.0.0.1:5672'),
  DISPATCHER_GROUP_ID: envs.string('hookpost-dispatcher'),
  /** Delay before each attempt, in ms; its length is the default number of attempts. */
  HOOKPOST_RETRY_SCHEDULE_MS: envs.durations(standardWebhooksSchedule),
  /** ± jitter on each retry delay, in percent. */
  HOOKPOST_RETRY_JITTER_PERCENT: envs.int(10, { min: 0, max: 50 }),
  /** Longest Retry-After honoured; longer ones are cut to this. */
  HOOKPOST_RETRY_AFTER_MAX_MS: envs.int(3_600_000, { min: 0 }),
  /** Per-attempt timeout unless the subscription sets timeout_ms. */
  HOOKPOST_DELIVERY_TIMEOUT_MS: envs.int(15_000, { min: 100, max: 300_000 }),
  /** How long resolving a target's name may take (c-ares, off the thread pool) before the attempt fails and is retried. */
  HOOKPOST_DNS_TIMEOUT_MS: envs.int(5_000, { min: 50, max: 60_000 }),
  /** Deliveries in flight at once, from Kafka and from the retry queue each. */
  DISPATCHER_CONCURRENCY: envs.int(256, { min: 1, max: 10_000 }),
  /** First attempts of one message's fan-out made at once (each endpoint's own share still applies). */
  DISPATCHER_FANOUT_CONCURRENCY: envs.int(32, { min: 1, max: 1_000 }),
  /**
   * Each endpoint's share (endpointShare.ts): attempts in flight to one target origin, and attempts that may
   * wait for one of those slots (each at most HOOKPOST_ENDPOINT_WAIT_MS) before being deferred. 0: a quarter
   * of DISPATCHER_CONCURRENCY each.
   */
  HOOKPOST_ENDPOINT_CONCURRENCY: envs.int(0, { min: 0, max: 10_000 }),
  HOOKPOST_ENDPOINT_QUEUE: envs.int(0, { min: 0, max: 10_000 }),
  HOOKPOST_ENDPOINT_WAIT_MS: envs.int(1_000, { min: 0, max: 60_000 }),
  /**
   * The longest an attempt waits in-process for its endpoint's rate limit (rateLimit.ts) before it is deferred
   * to its turn instead. At least 100: deferred attempts come back up to 50 ms early.
   */
  HOOKPOST_RATE_LIMIT_WAIT_MS: envs.int(250, { min: 100, max: 10_000 }),
  /**
   * Circuit breaking (endpointHealth.ts): after this many attempts to one endpoint failed in a row it is
   * probed, one attempt per HOOKPOST_ENDPOINT_PROBE_INTERVAL_MS, the others deferred (0: never); when every
   * attempt has failed for HOOKPOST_ENDPOINT_DISABLE_AFTER_MS it is disabled (0: never; Svix's 5 days).
   */
  HOOKPOST_ENDPOINT_PROBE_AFTER_FAILURES: envs.int(10, { min: 0, max: 1_000_000 }),
  HOOKPOST_ENDPOINT_PROBE_INTERVAL_MS: envs.int(30_000, { min: 10, max: 86_400_000 }),
  HOOKPOST_ENDPOINT_DISABLE_AFTER_MS: envs.int(432_000_000, { min: 0 }),
  /** Operational webhooks: the failed attempt of a delivery that reports message.attempt.failing (Svix: the 4th). */
  HOOKPOST_OPERATIONAL_FAILING_ATTEMPT: envs.int(4, { min: 1, max: 1_000 }),
  /** Fetches are long polls (docs/configuration.md): answered once the broker holds this many bytes… */
  DISPATCHER_FETCH_MIN_BYTES: envs.int(1, { min: 1 }),
  /** …or after this long (what an idle dispatcher costs: one fetch per this long). */
  DISPATCHER_FETCH_MAX_WAIT_MS: envs.int(1_000, { min: 1, max: 10_000 }),
  /** After a batch, the next fetch waits until this long after the last one: batches under load, at most this much added to a first attempt. */
  DISPATCHER_FETCH_LINGER_MS: envs.int(10, { min: 0, max: 1_000 }),
  /** What each retry queue (ready and every tier) may hold; a full one refuses publishes, which are tried again later. */
  HOOKPOST_RETRY_QUEUE_MAX_MESSAGES: envs.int(1_000_000, { min: 1 }),
  HOOKPOST_RETRY_QUEUE_MAX_BYTES: envs.int(1_073_741_824, { min: 1_024 }),
  /** How often the reconciler looks for retries RabbitMQ lost (and re-declares the retry queues). */
  HOOKPOST_RETRY_RECONCILE_INTERVAL_MS: envs.int(60_000, { min: 100 }),
  /** How far past its time a retry must be before the reconciler re-schedules it. */
  HOOKPOST_RETRY_RECONCILE_GRACE_MS: envs.int(300_000, { min: 100 }),
  /** A claim on an attempt lasts this long unless renewed (renewed every third while the attempt runs); shorter than the grace. */
  HOOKPOST_ATTEMPT_LEASE_MS: envs.int(15_000, { min: 30 }),
  /**
   * How long a bucket's payload keys are kept in process once read from the key store: an expunge stops this
   * dispatcher's attempts of that message within this (an expiry stops them at once).
   */
  HOOKPOST_PAYLOAD_KEY_CACHE_MS: envs.int(60_000, { min: 0, max: 3_600_000 }),
  /** How long a made attempt is remembered, so a late copy of its job is dropped; at least the grace. */
  HOOKPOST_ATTEMPT_DONE_TTL_MS: envs.int(900_000, { min: 100 }),
  /**
   * Ordered endpoints' lanes (docs/design-notes.md, "Ordered endpoints"): how often a head waiting for its
   * next attempt (or a resume) is looked at again, so an operator's skip takes effect within it; how long one
   * take of a head may last before it is given back and taken again (under RabbitMQ's consumer_timeout, 30
   * minutes by default); how often the lanes with work are looked for (a dispatcher consumes them all).
   */
  HOOKPOST_LANE_POLL_MS: envs.int(1_000, { min: 10, max: 60_000 }),
  HOOKPOST_LANE_HOLD_MS: envs.int(600_000, { min: 1_000, max: 1_500_000 }),
  HOOKPOST_LANE_DISCOVERY_MS: envs.int(10_000, { min: 100, max: 600_000 }),
  /** A background task records where it stands (its checkpoint: progress, and where to carry on after a crash) every this many messages… */
  HOOKPOST_TASK_CHECKPOINT_MESSAGES: envs.int(1_000, { min: 1 }),
  /** …or this often, whichever comes first. */
  HOOKPOST_TASK_CHECKPOINT_MS: envs.int(2_000, { min: 10 }),
};

export type DispatcherEnv = ReturnType<typeof readDispatcherEnv>;

export function readDispatcherEnv(source: NodeJS.ProcessEnv = process.env) {
  const env = parseEnv(dispatcherEnvSpec, source);
  // A crashed attempt's claim must be gone by the time the reconciler re-schedules it, and a made attempt
  // remembered at least until the reconciler could see it as overdue (see redisAttemptGuard.ts).
  const problems: string[] = [];
  if (env.HOOKPOST_ATTEMPT_LEASE_MS >= env.HOOKPOST_RETRY_RECONCILE_GRACE_MS) {
    problems.push('HOOKPOST_ATTEMPT_LEASE_MS must be shorter than HOOKPOST_RETRY_RECONCILE_GRACE_MS');
  }
  if (env.HOOKPOST_ATTEMPT_DONE_TTL_MS < env.HOOKPOST_RETRY_RECONCILE_GRACE_MS) {
    problems.push('HOOKPOST_ATTEMPT_DONE_TTL_MS must be at least HOOKPOST_RETRY_RECONCILE_GRACE_MS');
  }
  if (problems.length > 0) throw new EnvError(problems);
  const quarter = Math.max(1, Math.ceil(env.DISPATCHER_CONCURRENCY / 4));
  return {
    ...env,
    HOOKPOST_ENDPOINT_CONCURRENCY: env.HOOKPOST_ENDPOINT_CONCURRENCY || quarter,
    HOOKPOST_ENDPOINT_QUEUE: env.HOOKPOST_ENDPOINT_QUEUE || quarter,
  };
}
