import type { RedisClient } from '@hookpost/platform';
import type { SignInFailures } from '../ui/signInLimit';

/**
 * Failed dashboard sign-ins per client address, in Redis (`<prefix>ui-sign-in-failures:<address>`), shared by
 * every gateway: a counter whose expiry is set by the first failure of a window and not moved by later ones.
 */
export class RedisSignInFailures {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(address: string): string {
    return `${this.prefix}ui-sign-in-failures:${address}`;
  }

  async current(address: string): Promise<SignInFailures | undefined> {
    const [count, ttl] = await this.redis.multi().get(this.key(address)).pTTL(this.key(address)).exec();
    const failures = Number(count ?? 0);
    return failures > 0 ? { failures, resetsInMs: Number(ttl) } : undefined;
  }

  /** Counts one failure: the first of a window starts it (SET NX with its expiry; INCR keeps the expiry). */
  async record(address: string, windowMs: number): Promise<SignInFailures> {
    const key = this.key(address);
    const [, count, ttl] = await this.redis.multi().set(key, '0', { NX: true, PX: windowMs }).incr(key).pTTL(key).exec();
    return { failures: Number(count), resetsInMs: Number(ttl) };
  }
}
