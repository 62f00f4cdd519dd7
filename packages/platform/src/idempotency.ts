import { createHash, randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_PATTERN } from '@hookpost/contracts';
import { Conflict, HttpProblem, ServiceUnavailable, ValidationFailed } from './problem';

/**
 * `Idempotency-Key` on POST: the first answer to a key is recorded and every later request with the same key
 * (same principal, method and path) gets that answer again instead of running a second time, across gateway
 * processes, because the coordination is a record in a shared store (Redis, `redisIdempotencyStore.ts`).
 * The statuses follow the IETF httpapi draft "The Idempotency-Key HTTP Header Field": 422 for a key reused on
 * another request, 409 while the first is still running.
 */

/** The answer as it was sent: status, the headers that describe it, and the body bytes (base64). */
export type RecordedResponse = Readonly<{ status: number; headers: Readonly<Record<string, string | string[]>>; body: string }>;

/** A request holds the key while it runs (a lease, renewed while it runs) … */
export type RunningRecord = Readonly<{ state: 'running'; owner: string; fingerprint: string }>;
/** … and its answer is kept once it is sent. */
export type DoneRecord = Readonly<{ state: 'done'; fingerprint: string; response: RecordedResponse }>;
export type IdempotencyRecord = RunningRecord | DoneRecord;

/** The port the middleware uses; `RedisIdempotencyStore` is its adapter. Every call may throw (store unavailable). */
export type IdempotencyStore = {
  /** Takes the key if nobody holds it (or the holder's lease ran out); otherwise says what is there. */
  claim(scope: string, running: RunningRecord, leaseMs: number): Promise<{ kind: 'claimed' } | { kind: 'taken'; record: IdempotencyRecord | 'unreadable' }>;
  /** Extends a lease still ours; false when it is not (it expired and someone else took it). */
  renew(scope: string, running: RunningRecord, leaseMs: number): Promise<boolean>;
  /** Replaces our lease with the answer; false when the lease was no longer ours (nothing written). */
  finish(scope: string, running: RunningRecord, done: DoneRecord, ttlMs: number): Promise<boolean>;
  /** Gives our lease back without an answer, so a retry runs at once. */
  release(scope: string, running: RunningRecord): Promise<void>;
};

/** Where the middleware says what went wrong without failing the request (a pino logger fits). */
type WarningLog = { warn: (details: object, message: string) => void };

/** The form the OpenAPI document states (packages/contracts svix/schemas.ts): 1 to 256 visible ASCII characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH;
const KEY_FORM = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** Why a key cannot be used, if it cannot: bounded so a client cannot make us hash and store megabytes. */
export function idempotencyKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
  if (!KEY_FORM.test(key)) return 'must be visible ASCII characters (no spaces)';
  return undefined;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Where a key's record lives. The principal (whose API key) is part of it, so two callers never see each
 * other's answers; method and path too, so one key sent to two applications' paths is two requests (a client
 * reusing its own order id as key for several applications is plausible). Hashed: the store never holds a
 * principal or a key in clear, and the length is fixed.
 */
export function idempotencyScope(principal: string, method: string, path: string, key: string): string {
  return sha256(JSON.stringify([principal, method, path, key]));
}

/**
 * What must match for a replay: the query and the parsed body. The parsed body (re-serialized) rather than the
 * raw bytes, because the body parser has consumed the bytes by the time the principal is known; a retry by
 * the same client serializes the same object the same way, and whitespace changes do not matter.
 */
export function requestFingerprint(query: string, body: unknown): string {
  return sha256(JSON.stringify([query, body === undefined ? null : [body]]));
}

/** What a request finds when its claim failed. */
export type Arrival = 'wait' | 'replay' | 'mismatch';

export function decideArrival(record: IdempotencyRecord, fingerprint: string): Arrival {
  if (record.fingerprint !== fingerprint) return 'mismatch';
  switch (record.state) {
    case 'running':
      return 'wait';
    case 'done':
      return 'replay';
    default: {
      const unknown: never = record;
      throw new Error(`unknown idempotency record ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Which answers are kept. 2xx and 4xx are the outcome of the request: replaying them is what the client must
 * get. Not 408, 425 and 429: they say "not now", and kept they would refuse the key for 12 hours. Not 5xx:
 * the gateway answers 5xx when the command was not recorded (the event log refused it, or it crashed before
 * the append), so running it again is the retry the client asks for; the Svix client retries 5xx with the
 * same key for exactly this. (One 5xx is ambiguous — an append sent to Kafka whose ack timed out may still be
 * written — a retry then runs again; handlers that derive their ids from `idempotencyScopeOf(res)` make that
 * second write carry the first one's ids, so readers keyed by id see it once.) 1xx/3xx are not expected from
 * a POST here and are not kept.
 */
export function keepsAnswer(status: number): boolean {
  if (status === 408 || status === 425 || status === 429) return false;
  return (status >= 200 && status < 300) || (status >= 400 && status < 500);
}

/** Headers that belong to the answer itself; others (trace ids, dates, rate-limit counters) are per response. */
export const REPLAYED_HEADERS = ['content-type', 'location', 'etag', 'content-location'] as const;

/**
 * A key sent again with another request: a conflict with the request that first used it (409, Svix code
 * `idempotency_key_reused`), as a request still in progress under the key is. Never a replay of that
 * request's answer, and never run: the caller has mixed up two requests.
 */
export class IdempotencyKeyReused extends HttpProblem {
  constructor() {
    super(409, 'Conflict', 'This Idempotency-Key was already used for a different request (another body or query). Send a new key for a new request.', {
      code: 'idempotency_key_reused',
    });
  }
}
export class IdempotencyKeyInProgress extends Conflict {
  constructor() {
    super('A request with this Idempotency-Key is in progress. Retry with the same key to get its answer once it is done.');
  }
}

export type IdempotencyOptions = {
  store: IdempotencyStore;
  /** Whose request this is (the API key's identity); answers are never shared between principals. */
  principal: (req: Request) => string;
  log: WarningLog;
  /** How long an answer is kept (and the key refused for other requests). */
  ttlMs?: number;
  /** How long a holder's claim lasts without renewal: how soon a crashed holder's key is free again. */
  leaseMs?: number;
  /** How long a duplicate waits for the first request's answer before it is told 409. */
  waitMs?: number;
};

const IDEMPOTENCY_SCOPE = Symbol('idempotencyScope');

/**
 * The key's scope digest of a request running under an Idempotency-Key (undefined without one): stable over
 * the client's retries, so a handler can derive ids from it and a retry after an ambiguous failure writes
 * the same ids again.
 */
export function idempotencyScopeOf(res: Response): string | undefined {
  return (res.locals as Record<symbol, string | undefined>)[IDEMPOTENCY_SCOPE];
}

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Express middleware for POST routes (other methods pass through), mounted after authentication and body
 * parsing. Without the header a request runs unprotected, as before.
 *
 * - First arrival claims the key (a lease, renewed every third of `leaseMs` while the handler runs), runs the
 *   handler, and records the answer *before* sending it: whoever saw an answer can retry and get it again.
 * - A duplicate waits (polling the store) up to `waitMs` for the answer and replays it with
 *   `Idempotent-Replayed: true`; still running after that: 409. Not 503: the Svix client retries a 503 a
 *   few times within 150 ms (no help) and then surfaces an error whose natural fix, calling again, sends a
 *   new automatic key and would do the work twice; 409 says the work is being done.
 * - A holder that crashed stops renewing; its lease ends and the next duplicate takes the key over and runs.
 * - Store unavailable: 503 with Retry-After, never a run without protection.
 */
export function idempotency(options: IdempotencyOptions): RequestHandler {
  const { store, log } = options;
  const ttlMs = options.ttlMs ?? 12 * 3_600_000;
  const leaseMs = options.leaseMs ?? 10_000;
  const waitMs = options.waitMs ?? 10_000;

  return async (req, res, next) => {
    if (req.method !== 'POST') return next();
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    const problem = idempotencyKeyProblem(key);
    if (problem) return next(new ValidationFailed([{ field: 'Idempotency-Key', message: problem }], 'The Idempotency-Key header cannot be used.'));
    // Mounted before the body parser it would compare no bodies and replay an answer to another request.
    if (req.body === undefined && hasBody(req)) return next(new Error('idempotency middleware runs before the body is parsed'));

    const [path = '', query = ''] = req.originalUrl.split(/\?(.*)/s);
    const scope = idempotencyScope(options.principal(req), req.method, path, key);
    const running: RunningRecord = { state: 'running', owner: randomUUID(), fingerprint: requestFingerprint(query, req.body) };

    const deadline = Date.now() + waitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 20)) {
      let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
      try {
        claim = await store.claim(scope, running, leaseMs);
      } catch (error) {
        log.warn({ err: error }, 'idempotency store unavailable; refusing the request');
        return next(new ServiceUnavailable('Idempotency keys cannot be checked right now; retry with the same key shortly.'));
      }
      if (claim.kind === 'claimed') {
        (res.locals as Record<symbol, string>)[IDEMPOTENCY_SCOPE] = scope;
        holdWhileRunning(res, scope, running, { store, log, leaseMs, ttlMs });
        return next();
      }
      if (claim.record === 'unreadable') {
        log.warn({ scope }, 'idempotency record cannot be read (written by another version?)');
        return next(new ServiceUnavailable('This Idempotency-Key cannot be checked right now; retry with the same key later.'));
      }
      const arrival = decideArrival(claim.record, running.fingerprint);
      switch (arrival) {
        case 'mismatch':
          return next(new IdempotencyKeyReused());
        case 'replay':
          return replay(res, (claim.record as DoneRecord).response);
        case 'wait':
          if (Date.now() + pause > deadline) return next(new IdempotencyKeyInProgress());
          if (req.socket.destroyed) return; // the client left: nobody to answer
          await sleep(pause);
          break;
        default: {
          const unknown: never = arrival;
          return next(new Error(`unknown arrival ${String(unknown)}`));
        }
      }
    }
  };
}

function replay(res: Response, response: RecordedResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('Idempotent-Replayed', 'true');
  if (response.body === '') res.end();
  else res.end(Buffer.from(response.body, 'base64'));
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  throw new TypeError('response chunk is neither a string nor bytes');
}

function recordedHeaders(res: Response): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.getHeader(name);
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return headers;
}

/**
 * How long a lease is renewed at most. A response that never ends (a handler that hangs, or Express destroying
 * the socket after an error once headers were sent) would otherwise hold its key, and a timer, for as long as
 * the process lives. Five minutes is Node's default request timeout, far past any gateway handler.
 */
const MAX_HOLD_MS = 300_000;

type Holding = { store: IdempotencyStore; log: WarningLog; leaseMs: number; ttlMs: number };

/**
 * Keeps the lease while the handler runs and, when it ends the response, records the answer (or gives the
 * key back) before the last bytes leave. Everything sent goes through `res.end` (res.json and res.send end
 * there; a streamed answer passes through `res.write` first), so wrapping those two sees exactly the bytes
 * sent, a 204's `res.status(204).end()` included.
 */
function holdWhileRunning(res: Response, scope: string, running: RunningRecord, { store, log, leaseMs, ttlMs }: Holding): void {
  const heldUntil = Date.now() + MAX_HOLD_MS;
  const renewal = setInterval(() => {
    if (Date.now() > heldUntil) {
      clearInterval(renewal);
      log.warn({ scope }, 'idempotency lease no longer renewed: the response has not ended in time');
      return;
    }
    store.renew(scope, running, leaseMs).then(
      (ours) => {
        if (!ours) log.warn({ scope }, 'idempotency lease lost while the request ran; a duplicate may have run too');
      },
      (error: unknown) => log.warn({ err: error, scope }, 'idempotency lease renewal failed'),
    );
  }, Math.max(1, Math.floor(leaseMs / 3)));
  renewal.unref();

  const chunks: Buffer[] = [];
  const write = res.write;
  const end = res.end;
  let ending = false;

  res.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
    chunks.push(toBuffer(chunk, rest[0]));
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];

  res.end = function (this: Response, ...args: unknown[]) {
    if (ending) return this;
    ending = true;
    clearInterval(renewal);
    const [chunk, encoding] = args;
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, encoding));
    const status = res.statusCode;
    const settle = keepsAnswer(status)
      ? store
          .finish(scope, running, { state: 'done', fingerprint: running.fingerprint, response: { status, headers: recordedHeaders(res), body: Buffer.concat(chunks).toString('base64') } }, ttlMs)
          .then((ours) => {
            if (!ours) log.warn({ scope }, 'idempotency lease lost before the answer was recorded; a duplicate may have run too');
          })
      : store.release(scope, running);
    // The work is done: its answer goes out even when the store fails (the lease then ends on its own and a
    // retry after it runs again — the one case without protection, and it needs the store to fail here).
    void settle
      .catch((error: unknown) => log.warn({ err: error, scope, status }, 'idempotency answer could not be recorded'))
      .finally(() => {
        res.write = write;
        res.end = end;
        (end as (...args: unknown[]) => unknown).apply(res, args);
      });
    return this;
  } as Response['end'];
}
