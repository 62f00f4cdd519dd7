/**
 * What an application-scoped credential (an issued token or a configured application key, appTokens.ts) may
 * call. One pure decision, used by the gateway and the projector alike (applicationScoped.ts wires it):
 *
 * - `/api/v1/app/{app}/…` when `{app}` names the credential's own application (by id or uid: the caller
 *   resolves it), every method; the application itself (`/api/v1/app/{app}`) only read;
 * - `GET /api/v1/event-type[/…]` (the catalogue), `GET /api/v1/health`, `POST /api/v1/auth/logout`;
 * - `/api/v1/background-task[/…]`: reads, and (unless read-only) a cancel; the routes show such a credential
 *   only its own application's tasks, and any other task is "not found" to it;
 * - nothing else: another application's paths, the application list, event-type writes, app-portal access,
 *   the seed API and /internal are all "not found", exactly as if they did not exist — a 403 would tell the
 *   holder that the thing exists.
 *
 * "Forbidden" is answered only about the credential's own application, whose existence it knows already: a
 * change to the application itself, or any change by a read-only token.
 */

export type ApplicationScope = Readonly<{
  /** The id (UUID) of the application the credential is scoped to; undefined when it names none (yet). */
  application: string | undefined;
  readOnly: boolean;
}>;

/** The part of a request path a scope cares about. */
export type ScopedTarget =
  | Readonly<{ kind: 'application'; app: string; itself: boolean }>
  | Readonly<{ kind: 'catalogue' }>
  | Readonly<{ kind: 'health' }>
  | Readonly<{ kind: 'logout' }>
  | Readonly<{ kind: 'backgroundTask' }>
  | Readonly<{ kind: 'elsewhere' }>;

export type ScopedAccess = 'allowed' | 'not-found' | 'forbidden';

/**
 * Reads a request path the way Express routes it — literal segments in any case, one trailing slash allowed,
 * path parameters percent-decoded — so the application checked is the application the route will act on.
 * Anything of another shape (empty segments, bad escapes) is `elsewhere`, which no scope reaches.
 */
export function scopedTarget(path: string): ScopedTarget {
  const segments = path.split('/');
  if (segments.length > 2 && segments[segments.length - 1] === '') segments.pop();
  const [root, api, version, ...rest] = segments;
  const is = (segment: string | undefined, literal: string) => segment !== undefined && segment.toLowerCase() === literal;
  if (root !== '' || !is(api, 'api') || !is(version, 'v1')) return { kind: 'elsewhere' };
  if (is(rest[0], 'app') && rest.length >= 2) {
    const app = decoded(rest[1]!);
    if (app === undefined || app === '' || rest.slice(2).some((segment) => segment === '')) return { kind: 'elsewhere' };
    return { kind: 'application', app, itself: rest.length === 2 };
  }
  if (is(rest[0], 'event-type') && rest.slice(1).every((segment) => segment !== '')) return { kind: 'catalogue' };
  if (rest.length === 1 && is(rest[0], 'health')) return { kind: 'health' };
  if (is(rest[0], 'background-task') && rest.length <= 3 && rest.slice(1).every((segment) => segment !== '')) return { kind: 'backgroundTask' };
  if (rest.length === 2 && is(rest[0], 'auth') && is(rest[1], 'logout')) return { kind: 'logout' };
  return { kind: 'elsewhere' };
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The decision. `named` is the id of the application `target.app` names (resolved by the caller, by id or
 * uid), or undefined when it names none; it is ignored for other targets.
 */
export function decideScopedAccess(scope: ApplicationScope, method: string, target: ScopedTarget, named: string | undefined): ScopedAccess {
  const verb = method.toUpperCase();
  // (Express answers HEAD with the GET route)
  const reads = verb === 'GET' || verb === 'HEAD';
  switch (target.kind) {
    case 'application': {
      const own = scope.application !== undefined && named !== undefined && named === scope.application;
      if (!own) return 'not-found';
      if (reads) return 'allowed';
      return target.itself || scope.readOnly ? 'forbidden' : 'allowed';
    }
    case 'catalogue':
    case 'health':
      return reads ? 'allowed' : 'not-found';
    case 'logout':
      return verb === 'POST' ? 'allowed' : 'not-found';
    case 'backgroundTask':
      // (which task is the route's to decide: it answers 404 for another application's)
      if (reads) return 'allowed';
      return scope.readOnly ? 'forbidden' : 'allowed';
    case 'elsewhere':
      return 'not-found';
    default: {
      const unknown: never = target;
      throw new Error(`no scoped target ${JSON.stringify(unknown)}`);
    }
  }
}
