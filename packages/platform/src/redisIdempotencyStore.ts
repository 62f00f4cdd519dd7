import type { DoneRecord, IdempotencyRecord, IdempotencyStore, RunningRecord } from './idempotency';
import type { RedisClient } from './subscriptionDirectory';
import { within } from './within';

// Take the free key, or answer what holds it. A lease that ran out is gone (PX), so taking over is this same step.
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

// The lease's exact text is the holder's proof: another holder's lease, or an answer, is never touched.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const FINISH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Records are versioned JSON, so a later format can tell an older one apart instead of misreading it. */
export function encodeIdempotencyRecord(record: IdempotencyRecord): string {
  return JSON.stringify({ v: 1, ...record });
}

export function decodeIdempotencyRecord(text: string): IdempotencyRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.v !== 1 || typeof record.fingerprint !== 'string') return undefined;
  if (record.state === 'running' && typeof record.owner === 'string') return { state: 'running', owner: record.owner, fingerprint: record.fingerprint };
  if (record.state !== 'done' || typeof record.response !== 'object' || record.response === null) return undefined;
  const response = record.response as Record<string, unknown>;
  if (!Number.isInteger(response.status) || typeof response.body !== 'string' || typeof response.headers !== 'object' || response.headers === null) return undefined;
  for (const header of Object.values(response.headers)) {
    if (typeof header !== 'string' && !(Array.isArray(header) && header.every((part) => typeof part === 'string'))) return undefined;
  }
  return {
    state: 'done',
    fingerprint: record.fingerprint,
    response: { status: response.status as number, headers: response.headers as Record<string, string | string[]>, body: response.body },
  };
}

/** Thrown instead of waiting when Redis is not connected: node-redis would queue the command until it is. */
export class IdempotencyStoreUnavailable extends Error {
  constructor(reason: string) {
    super(`idempotency store unavailable: ${reason}`);
    this.name = 'IdempotencyStoreUnavailable';
  }
}

/**
 * Idempotency records in Redis, one string key per (principal, method, path, key) scope:
 * `<prefix>idempotency:<sha256>`, a lease (`PX leaseMs`) while the first request runs, then its answer
 * (`PX ttlMs`). Every step is one atomic script, so concurrent duplicates on any number of gateways agree on
 * one holder. Each call answers within `timeoutMs` or fails: a request is refused (503) rather than left
 * hanging on Redis or run without protection.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly timeoutMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
  }

  key(scope: string): string {
    return `${this.prefix}idempotency:${scope}`;
  }

  private run(script: string, scope: string, args: string[]): Promise<unknown> {
    if (!this.redis.isReady) return Promise.reject(new IdempotencyStoreUnavailable('Redis is not connected'));
    return within(this.timeoutMs, this.redis.eval(script, { keys: [this.key(scope)], arguments: args }), 'no answer from Redis');
  }

  async claim(scope: string, running: RunningRecord, leaseMs: number) {
    const current = await this.run(CLAIM, scope, [encodeIdempotencyRecord(running), String(leaseMs)]);
    if (current === null) return { kind: 'claimed' as const };
    return { kind: 'taken' as const, record: (typeof current === 'string' && decodeIdempotencyRecord(current)) || ('unreadable' as const) };
  }

  async renew(scope: string, running: RunningRecord, leaseMs: number): Promise<boolean> {
    return Number(await this.run(RENEW, scope, [encodeIdempotencyRecord(running), String(leaseMs)])) === 1;
  }

  async finish(scope: string, running: RunningRecord, done: DoneRecord, ttlMs: number): Promise<boolean> {
    return Number(await this.run(FINISH, scope, [encodeIdempotencyRecord(running), encodeIdempotencyRecord(done), String(ttlMs)])) === 1;
  }

  async release(scope: string, running: RunningRecord): Promise<void> {
    await this.run(RELEASE, scope, [encodeIdempotencyRecord(running)]);
  }
}
