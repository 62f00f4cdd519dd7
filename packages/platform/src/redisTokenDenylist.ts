import { createHash } from 'node:crypto';
import type { RedisClient } from './subscriptionDirectory';

/** Kept past a token's expiry by this much, so a service whose clock runs behind still sees it revoked. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Application tokens logged out before their expiry (appTokens.ts). An issued token is stateless, so the only
 * state is this list: one Redis key per revoked token, named by the token's SHA-256 (never the token) and
 * expiring with it, so the list holds no more than the tokens revoked and still unexpired. Every service that
 * accepts tokens (gateway, projector) asks it on each request a token makes.
 */
export class RedisTokenDenylist {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(token: string): string {
    return `${this.prefix}revoked-app-token:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
  }

  async revoke(token: string, expiresAtSeconds: number, nowMs: number): Promise<void> {
    const ttlMs = Math.max(expiresAtSeconds * 1000 - nowMs, 0) + CLOCK_SKEW_MS;
    await this.redis.set(this.key(token), '1', { PX: ttlMs });
  }

  async isRevoked(token: string): Promise<boolean> {
    return (await this.redis.exists(this.key(token))) === 1;
  }
}
