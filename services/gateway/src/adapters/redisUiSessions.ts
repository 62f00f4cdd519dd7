import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '@hookpost/platform';
import type { UiSession } from '../ui/uiSession';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Dashboard sessions in Redis, each under the SHA-256 of its id (a copy of Redis does not hold live cookies),
 * expiring with the session. Every gateway shares them, so a session opened through one is good on all.
 */
export class RedisUiSessions {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}ui-session:${createHash('sha256').update(id).digest('hex')}`;
  }

  async open(keyDigest: string, ttlMs: number, now: number): Promise<{ id: string; session: UiSession }> {
    const id = randomBytes(32).toString('base64url');
    const session: UiSession = { keyDigest, csrf: randomBytes(24).toString('base64url'), createdAt: now, expiresAt: now + ttlMs };
    await this.redis.set(this.key(id), JSON.stringify(session), { PX: ttlMs });
    return { id, session };
  }

  async find(id: string): Promise<UiSession | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const stored = await this.redis.get(this.key(id));
    if (!stored) return undefined;
    try {
      return JSON.parse(stored) as UiSession;
    } catch {
      return undefined;
    }
  }

  async close(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.key(id));
  }
}
