import type { Request, RequestHandler, Response } from 'express';
import { parseIdOrUid, type IdOrUid } from '@hookpost/contracts';
import { bearerToken, Unauthorized } from './apiKeys';
import { looksLikeAppToken, type AppTokenClaims, type AppTokens, type ConfiguredAppKeys } from './appTokens';
import { decideScopedAccess, scopedTarget, type ApplicationScope } from './applicationScope';
import { HttpProblem, NotFound, ServiceUnavailable } from './problem';
import type { RedisTokenDenylist } from './redisTokenDenylist';

/** The scope a request was let through with, for the routes that need it (logout). */
export type GrantedScope = ApplicationScope & {
  /** Set for an issued token (not a configured key): what logging out revokes. */
  token?: Readonly<{ presented: string; expiresAt: number }>;
};

export type ApplicationScopeDeps = {
  tokens: Pick<AppTokens, 'verify'>;
  configured: Pick<ConfiguredAppKeys, 'applicationOf'>;
  denylist: Pick<RedisTokenDenylist, 'isRevoked'>;
  /** The id of the live application that has this uid now, or undefined. Ids are compared without a lookup. */
  applicationIdByUid: (uid: string) => Promise<string | undefined>;
  now: () => number;
};

type Credential = Readonly<{ kind: 'token'; claims: AppTokenClaims } | { kind: 'configured'; application: IdOrUid } | { kind: 'refused' }>;

const GRANTED = Symbol('hookpost application scope');

/** The scope the request came with, when it came with an application credential. */
export function applicationScopeOf(res: Response): GrantedScope | undefined {
  return (res.locals as Record<symbol, GrantedScope | undefined>)[GRANTED];
}

class Forbidden extends HttpProblem {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}

/**
 * Application credentials in front of the admin check (`admin`, requireApiKey; undefined when the service runs
 * without keys). A request with an issued token or a configured application key is decided here
 * (applicationScope.ts) and never reaches `admin`; every other request goes on to it. Text that looks like a
 * token but was not issued by us is no token, and `admin` refuses it like any unknown key; a token of ours
 * that expired or was logged out is 401 here.
 */
export function applicationScoped(deps: ApplicationScopeDeps, open: (path: string) => boolean, admin: RequestHandler | undefined): RequestHandler {
  async function applicationId(text: string): Promise<string | undefined> {
    const ref = parseIdOrUid('app', text);
    if (!ref) return undefined;
    return ref.kind === 'id' ? ref.id : deps.applicationIdByUid(ref.uid);
  }

  /** What the presented credential is, without any I/O: an issued token (checked), a configured key, or neither. */
  function identify(presented: string): Credential | undefined {
    if (looksLikeAppToken(presented)) {
      const check = deps.tokens.verify(presented, deps.now());
      if (check.ok) return { kind: 'token', claims: check.claims };
      return check.reason === 'expired' ? { kind: 'refused' } : undefined;
    }
    const configured = deps.configured.applicationOf(presented);
    return configured ? { kind: 'configured', application: configured } : undefined;
  }

  async function scopeOf(presented: string, credential: Credential): Promise<GrantedScope | 'refused'> {
    switch (credential.kind) {
      case 'refused':
        return 'refused';
      case 'token': {
        const { claims } = credential;
        if (await deps.denylist.isRevoked(presented)) return 'refused';
        return { application: claims.app, readOnly: claims.readOnly, token: { presented, expiresAt: claims.expiresAt } };
      }
      case 'configured': {
        const ref = credential.application;
        return { application: ref.kind === 'id' ? ref.id : await deps.applicationIdByUid(ref.uid), readOnly: false };
      }
      default: {
        const unknown: never = credential;
        throw new Error(`unknown credential ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** A lookup that cannot be answered now (Redis or the read model down) is a 503 to retry: never let through. */
  async function answerable<T>(lookup: () => Promise<T>): Promise<T> {
    try {
      return await lookup();
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      throw new ServiceUnavailable('The credential could not be checked right now; try again shortly.');
    }
  }

  async function decide(req: Request, res: Response, presented: string, credential: Credential): Promise<void> {
    const scope = await answerable(() => scopeOf(presented, credential));
    if (scope === 'refused') {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new Unauthorized('The application token has expired or was logged out.');
    }
    const target = scopedTarget(req.path);
    const named = target.kind === 'application' && scope.application !== undefined ? await answerable(() => applicationId(target.app)) : undefined;
    const access = decideScopedAccess(scope, req.method, target, named);
    switch (access) {
      case 'allowed':
        (res.locals as Record<symbol, GrantedScope>)[GRANTED] = scope;
        return;
      case 'not-found':
        // Worded as the routes word a missing application or route, so it tells nothing the holder may not know.
        throw new NotFound(target.kind === 'application' ? `No application ${target.app}.` : `No route for ${req.method} ${req.path}.`);
      case 'forbidden':
        throw new Forbidden(scope.readOnly ? 'This application token may only read.' : 'An application token cannot change its application itself.');
      default: {
        const unknown: never = access;
        throw new Error(`unknown scoped access ${String(unknown)}`);
      }
    }
  }

  // Synchronous until a credential turns out to be an application's: admin requests (ingest) pay no promise.
  return (req, res, next) => {
    const onward = () => (admin ? admin(req, res, next) : next());
    if (open(req.path)) return onward();
    const presented = bearerToken(req.headers.authorization);
    const credential = presented === undefined ? undefined : identify(presented);
    if (!credential) return onward();
    decide(req, res, presented!, credential).then(() => next(), next);
  };
}
