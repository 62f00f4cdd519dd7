import type { RedisClient } from '@hookpost/platform';
import type { EndpointHealth } from '../delivery/endpointHealth';

/** The port the dispatcher uses (endpointHealth.ts says what the record means); RedisEndpointHealth is its adapter. */
export type EndpointHealthStore = {
  /** The endpoint's record, if it has one for this version of the endpoint (a record of another version is none). */
  read(endpointId: string, version: number): Promise<EndpointHealth | undefined>;
  /** Takes the endpoint's probe slot for `intervalMs`: 0 when this caller has it, otherwise how long until it frees. */
  takeProbe(endpointId: string, intervalMs: number): Promise<number>;
  /** An attempt succeeded: the endpoint has no record any more. */
  succeeded(endpointId: string): Promise<void>;
  /** An attempt failed at `nowMs`: the record with it counted (a record of another version is started afresh). */
  failed(endpointId: string, version: number, nowMs: number): Promise<EndpointHealth>;
};

const READ = `
local values = redis.call('HMGET', KEYS[1], 'version', 'failures', 'since')
if values[1] ~= ARGV[1] then return false end
return {values[2], values[3]}`;

// The first failure of a version sets `since`; a record of an older version (the endpoint changed since) is dropped.
const FAILED = `
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'since', ARGV[2])
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {failures, redis.call('HGET', KEYS[1], 'since')}`;

const TAKE_PROBE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left`;

/**
 * One small hash per failing endpoint (`version`, `failures`, `since`), shared by every dispatcher, and a probe
 * key that exists while a probe's interval runs. A healthy endpoint has neither: the cost of a success is one
 * read (and a DEL only after failures). The record expires `recordTtlMs` after its last failure, so an
 * endpoint silent for that long starts afresh: "every attempt failed for the period" needs attempts to fail.
 */
export class RedisEndpointHealth implements EndpointHealthStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly recordTtlMs: number,
  ) {}

  private recordKey(endpointId: string): string {
    return `${this.prefix}endpoint-health:${endpointId}`;
  }

  private probeKey(endpointId: string): string {
    return `${this.prefix}endpoint-probe:${endpointId}`;
  }

  async read(endpointId: string, version: number): Promise<EndpointHealth | undefined> {
    const found = (await this.redis.eval(READ, { keys: [this.recordKey(endpointId)], arguments: [String(version)] })) as [string, string] | null;
    if (!found) return undefined;
    return healthOf(found[0], found[1]);
  }

  async takeProbe(endpointId: string, intervalMs: number): Promise<number> {
    return Number(await this.redis.eval(TAKE_PROBE, { keys: [this.probeKey(endpointId)], arguments: [String(Math.max(1, Math.round(intervalMs)))] }));
  }

  async succeeded(endpointId: string): Promise<void> {
    await this.redis.del([this.recordKey(endpointId), this.probeKey(endpointId)]);
  }

  async failed(endpointId: string, version: number, nowMs: number): Promise<EndpointHealth> {
    const [failures, since] = (await this.redis.eval(FAILED, {
      keys: [this.recordKey(endpointId)],
      arguments: [String(version), String(nowMs), String(this.recordTtlMs)],
    })) as [number, string];
    return healthOf(failures, since);
  }
}

function healthOf(failures: unknown, since: unknown): EndpointHealth {
  return { failures: Number(failures) || 0, failingSince: Number(since) || 0 };
}
