import { commonEnv, envs, parseEnv, topicEnv } from '@hookpost/platform';

export const projectorEnvSpec = {
  ...commonEnv,
  ...topicEnv,
  PROJECTOR_PORT: envs.int(8001, { min: 0, max: 65535 }),
  DATABASE_URL: envs.string('postgres://hookpost:hookpost@127.0.0.1:5432/hookpost'),
  /** PostgreSQL schema of the read model; tests use one per run. */
  HOOKPOST_DB_SCHEMA: envs.string('public'),
  PROJECTOR_GROUP_ID: envs.string('hookpost-projector'),
  /** Fetches are long polls (packages/platform/src/kafka.ts FetchSettings): answered once the broker holds this many bytes… */
  PROJECTOR_FETCH_MIN_BYTES: envs.int(1, { min: 1 }),
  /** …or after this long (what an idle projector costs: one fetch per this long). */
  PROJECTOR_FETCH_MAX_WAIT_MS: envs.int(1_000, { min: 1, max: 10_000 }),
  /**
   * After a batch, the next fetch waits until this long after the last one: bigger batches, fewer transactions.
   * At most 1 s: the wait is added to every fenced read (HOOKPOST_READ_WAIT_MS) and no heartbeat goes out meanwhile.
   */
  PROJECTOR_FETCH_LINGER_MS: envs.int(100, { min: 0, max: 1_000 }),
  /** How long a read may wait for the read model to apply the writes acknowledged before it; then 503. */
  HOOKPOST_READ_WAIT_MS: envs.int(5_000, { min: 10, max: 60_000 }),
  /** How often expired payloads are removed from the read model and their buckets' keys deleted. */
  HOOKPOST_RETENTION_SWEEP_MS: envs.int(60_000, { min: 50, max: 3_600_000 }),
  /** How long a bucket's payload keys are kept in process for projecting (an expiry applies at once regardless). */
  HOOKPOST_PAYLOAD_KEY_CACHE_MS: envs.int(60_000, { min: 0, max: 3_600_000 }),
};

export type ProjectorEnv = ReturnType<typeof readProjectorEnv>;

export function readProjectorEnv(source: NodeJS.ProcessEnv = process.env) {
  return parseEnv(projectorEnvSpec, source);
}
