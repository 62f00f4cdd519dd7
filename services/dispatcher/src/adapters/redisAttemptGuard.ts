import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@hookpost/platform';

/**
 * What the guard says about one attempt of one delivery: this caller may make it now (and holds a lease
 * while it does), it was made already (its outcome is in the log), or another caller is making it.
 */
export type AttemptClaim =
  | { kind: 'claimed'; token: string }
  | { kind: 'done' }
  | { kind: 'running'; remainingMs: number };

/** The port the dispatcher uses; RedisAttemptGuard is its adapter. */
export type AttemptGuard = {
  claim(deliveryId: string, attemptNumber: number): Promise<AttemptClaim>;
  /** Extends a held lease; false when it is no longer ours (it expired and someone else took it). */
  renew(deliveryId: string, attemptNumber: number, token: string): Promise<boolean>;
  /** The attempt's outcome is in the log: remember it as done. */
  finish(deliveryId: string, attemptNumber: number): Promise<void>;
  /** Gives a lease back without an outcome (the caller is stopping), so the next copy need not wait it out. */
  release(deliveryId: string, attemptNumber: number, token: string): Promise<void>;
};

const DONE = 'done';

// One atomic step: take the free slot, or say who has it. The lease value is the holder's token.
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'claimed', 0}
end
if current == '${DONE}' then return {'done', 0} end
return {'running', redis.call('PTTL', KEYS[1])}`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * At most one attempt per (delivery, attempt number) in the normal case, although a retry's job may exist
 * twice: RabbitMQ's copy and the one the reconciler re-schedules when it believes RabbitMQ lost it (and Kafka
 * redelivers first attempts after a crash or rebalance).
 *
 * Why this shape:
 * - The claim is a lease (`SET … PX leaseMs`), renewed while the attempt runs. A dispatcher that dies
 *   mid-attempt stops renewing, so its lease ends within `leaseMs`; the lease is shorter than the
 *   reconciler's grace, so by the time the reconciler re-schedules a lost retry, a crashed holder's claim
 *   is gone and the attempt is made (at-least-once, as after any crash).
 * - Once the outcome is recorded in the log the key becomes `done` for `doneTtlMs`: a copy arriving later
 *   (the reconciler read a read model a moment behind, or RabbitMQ's copy was late) is dropped. That window
 *   must outlive projection lag plus one reconciler interval; after it the read model has moved on and
 *   nobody re-schedules that attempt any more.
 * - Recording happens before `done` is written, so a crash in between can only cause a repeat, never a loss.
 */
export class RedisAttemptGuard implements AttemptGuard {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly options: { leaseMs: number; doneTtlMs: number },
    private readonly newToken: () => string = randomUUID,
  ) {}

  private key(deliveryId: string, attemptNumber: number): string {
    return `${this.prefix}attempt:${deliveryId}:${attemptNumber}`;
  }

  async claim(deliveryId: string, attemptNumber: number): Promise<AttemptClaim> {
    const token = this.newToken();
    const [kind, remaining] = (await this.redis.eval(CLAIM, {
      keys: [this.key(deliveryId, attemptNumber)],
      arguments: [token, String(this.options.leaseMs)],
    })) as [string, number];
    switch (kind) {
      case 'claimed':
        return { kind: 'claimed', token };
      case 'done':
        return { kind: 'done' };
      case 'running':
        return { kind: 'running', remainingMs: Math.max(0, Number(remaining)) };
      default:
        throw new Error(`unexpected answer ${String(kind)} from the attempt guard`);
    }
  }

  async renew(deliveryId: string, attemptNumber: number, token: string): Promise<boolean> {
    const renewed = await this.redis.eval(RENEW, { keys: [this.key(deliveryId, attemptNumber)], arguments: [token, String(this.options.leaseMs)] });
    return Number(renewed) === 1;
  }

  async finish(deliveryId: string, attemptNumber: number): Promise<void> {
    await this.redis.set(this.key(deliveryId, attemptNumber), DONE, { expiration: { type: 'PX', value: this.options.doneTtlMs } });
  }

  async release(deliveryId: string, attemptNumber: number, token: string): Promise<void> {
    await this.redis.eval(RELEASE, { keys: [this.key(deliveryId, attemptNumber)], arguments: [token] });
  }
}
