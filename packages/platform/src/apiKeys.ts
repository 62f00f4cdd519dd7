import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpProblem } from './problem';

export class Unauthorized extends HttpProblem {
  constructor(detail: string) {
    super(401, 'Unauthorized', detail);
  }
}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/**
 * API keys from configuration, kept only as SHA-256 digests and compared in constant time. The paths in
 * `open` (health, metrics, the API description) need no key. `service` adds the credential the services
 * call each other with: accepted everywhere, and the only one accepted on the paths it names (`only`).
 */
export function requireApiKey(
  keys: readonly string[],
  open: (path: string) => boolean,
  service?: { credentials: readonly string[]; only: (path: string) => boolean },
): RequestHandler {
  const userDigests = keys.map(digest);
  const serviceDigests = (service?.credentials ?? []).map(digest);
  const anyDigests = [...userDigests, ...serviceDigests];
  return (req, res, next) => {
    if (open(req.path)) return next();
    const serviceOnly = service?.only(req.path) ?? false;
    // Without user keys (HOOKPOST_ALLOW_NO_AUTH) the public routes are open; service-only ones never are.
    if (!serviceOnly && userDigests.length === 0) return next();
    const digests = serviceOnly ? serviceDigests : anyDigests;
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return next(new Unauthorized('Send an API key as Authorization: Bearer <key>.'));
    }
    const candidate = digest(token);
    // Compare against every key, without stopping early, so timing says nothing about which matched.
    let ok = false;
    for (const known of digests) ok = timingSafeEqual(candidate, known) || ok;
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return next(new Unauthorized('The API key is not valid.'));
    }
    next();
  };
}

/** The API keys a service runs with; it refuses to start without one unless told to run open. */
export function apiKeysFrom(env: { HOOKPOST_API_KEYS: string[]; HOOKPOST_ALLOW_NO_AUTH: boolean }): string[] {
  if (env.HOOKPOST_API_KEYS.length === 0 && !env.HOOKPOST_ALLOW_NO_AUTH) {
    throw new Error('no API keys: set HOOKPOST_API_KEYS (comma-separated), or HOOKPOST_ALLOW_NO_AUTH=true to run without authentication');
  }
  for (const key of env.HOOKPOST_API_KEYS) if (key.length < 16) throw new Error('every API key needs at least 16 characters');
  return env.HOOKPOST_API_KEYS;
}

/** The token of an `Authorization: Bearer <token>` header (any case of "Bearer"), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : undefined;
}
