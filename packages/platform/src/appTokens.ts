import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appPortalCapabilities, parseIdOrUid, type IdOrUid } from '@hookpost/contracts';
import { parseMasterKeys } from './masterKeys';

/**
 * Application tokens: credentials that see and change one application only (see applicationScope.ts). Two
 * kinds: tokens issued by `POST /api/v1/auth/app-portal-access/{app}`, and keys given in configuration
 * (HOOKPOST_APP_API_KEYS).
 *
 * An issued token is stateless: `hpat_<payload>.<mac>`, the payload base64url JSON naming the application's
 * id and the expiry, the mac HMAC-SHA256 over `hpat_<payload>` under a key derived from each master key (as
 * the service credential is), so every service that holds the master keys verifies it and nothing has to be
 * stored. During a master-key rotation any configured key's tokens verify; new ones are signed with the first.
 * A token is withdrawn before its expiry by logging out (redisTokenDenylist.ts).
 */

export const APP_TOKEN_PREFIX = 'hpat_';
/** Longer text is not looked at: no token we issue comes near it. */
const MAX_TOKEN_LENGTH = 4_096;
const TOKEN = /^hpat_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_ID = /^[a-zA-Z0-9@_-]{1,64}$/;
const FEATURE_FLAG = /^[a-zA-Z0-9\-_.]{1,256}$/;
const NONCE = /^[A-Za-z0-9_-]{16}$/;

export type AppPortalCapability = (typeof appPortalCapabilities)[number];

/** What an issued token says. Times are Unix seconds. */
export type AppTokenClaims = Readonly<{
  /** The application's id (our UUID): the token stays with the application when its uid changes. */
  app: string;
  issuedAt: number;
  expiresAt: number;
  /** Only reads (and logging out) when set. */
  readOnly: boolean;
  /** Recorded as asked for (Svix's app-portal capabilities); not enforced beyond readOnly. */
  capabilities?: readonly AppPortalCapability[];
  sessionId?: string;
  featureFlags?: readonly string[];
}>;

export type AppTokenGrant = Omit<AppTokenClaims, 'issuedAt' | 'expiresAt'> & { expiresInSeconds: number };

export type AppTokenCheck = { ok: true; claims: AppTokenClaims } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

/** Whether a bearer token is meant as an issued application token (then it is one, or it is refused). */
export const looksLikeAppToken = (token: string): boolean => token.startsWith(APP_TOKEN_PREFIX);

/** The signing key derived from one master key; a different label from the service credential's, so neither stands in for the other. */
function tokenKey(masterKey: Buffer): Buffer {
  return createHmac('sha256', masterKey).update('hookpost application token v1').digest();
}

/** base64url that decodes and encodes back to the same text: one token has one spelling (the denylist keys on it). */
function canonical(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

export class AppTokens {
  /** `keys[0]` signs; every one verifies. */
  constructor(private readonly keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error('no key to sign application tokens with');
  }

  /** From HOOKPOST_SECRET_KEYS, like SecretBox and the service credential. */
  static fromConfig(secretKeys: string): AppTokens {
    return new AppTokens(parseMasterKeys(secretKeys).map(({ key }) => tokenKey(key)));
  }

  private mac(key: Buffer, payload: string): Buffer {
    return createHmac('sha256', key).update(`${APP_TOKEN_PREFIX}${payload}`).digest();
  }

  /** A new token for `grant`, valid from `nowMs` for `grant.expiresInSeconds`. `nonce` makes two grants in one second differ. */
  issue(grant: AppTokenGrant, nowMs: number, nonce: Buffer = randomBytes(12)): string {
    if (!UUID.test(grant.app)) throw new RangeError(`not an application id: ${grant.app}`);
    if (!Number.isSafeInteger(grant.expiresInSeconds) || grant.expiresInSeconds <= 0) throw new RangeError('an application token needs a positive expiry');
    const issuedAt = Math.floor(nowMs / 1000);
    const body = {
      v: 1,
      app: grant.app,
      iat: issuedAt,
      exp: issuedAt + grant.expiresInSeconds,
      n: nonce.subarray(0, 12).toString('base64url'),
      ...(grant.readOnly ? { ro: true } : {}),
      ...(grant.capabilities ? { cap: grant.capabilities } : {}),
      ...(grant.sessionId ? { sid: grant.sessionId } : {}),
      ...(grant.featureFlags ? { ff: grant.featureFlags } : {}),
    };
    const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
    return `${APP_TOKEN_PREFIX}${payload}.${this.mac(this.keys[0]!, payload).toString('base64url')}`;
  }

  /** What `token` grants at `nowMs`, or why it grants nothing. Text that was not issued under one of our keys is `forged`. */
  verify(token: string, nowMs: number): AppTokenCheck {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const match = TOKEN.exec(token);
    if (!match) return { ok: false, reason: 'malformed' };
    const [, payload, macText] = match as unknown as [string, string, string];
    const given = canonical(macText);
    const payloadBytes = canonical(payload);
    if (!given || given.length !== 32 || !payloadBytes) return { ok: false, reason: 'malformed' };
    // Every key, without stopping early: timing says nothing about which one matched.
    let signed = false;
    for (const key of this.keys) signed = timingSafeEqual(this.mac(key, payload), given) || signed;
    if (!signed) return { ok: false, reason: 'forged' };
    const claims = claimsOf(payloadBytes);
    // (signed by us but not a payload we write: a key used for something else; refuse it all the same)
    if (!claims) return { ok: false, reason: 'malformed' };
    if (Math.floor(nowMs / 1000) >= claims.expiresAt) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }
}

/** The claims of a payload, read strictly: exactly the fields we write, each of its type. */
function claimsOf(bytes: Buffer): AppTokenClaims | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  const known = new Set(['v', 'app', 'iat', 'exp', 'n', 'ro', 'cap', 'sid', 'ff']);
  if (Object.keys(fields).some((name) => !known.has(name))) return undefined;
  const { v, app, iat, exp, n, ro, cap, sid, ff } = fields;
  if (v !== 1 || typeof app !== 'string' || !UUID.test(app) || typeof n !== 'string' || !NONCE.test(n)) return undefined;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || (exp as number) <= (iat as number)) return undefined;
  if (ro !== undefined && ro !== true) return undefined;
  const capabilities = appPortalCapabilities as readonly string[];
  if (cap !== undefined && !(Array.isArray(cap) && cap.every((item) => typeof item === 'string' && capabilities.includes(item)))) return undefined;
  if (sid !== undefined && !(typeof sid === 'string' && SESSION_ID.test(sid))) return undefined;
  if (ff !== undefined && !(Array.isArray(ff) && ff.every((item) => typeof item === 'string' && FEATURE_FLAG.test(item)))) return undefined;
  return {
    app,
    issuedAt: iat as number,
    expiresAt: exp as number,
    readOnly: ro === true,
    ...(cap === undefined ? {} : { capabilities: cap as AppPortalCapability[] }),
    ...(sid === undefined ? {} : { sessionId: sid as string }),
    ...(ff === undefined ? {} : { featureFlags: ff as string[] }),
  };
}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/**
 * Keys given in configuration, each scoped to one application: HOOKPOST_APP_API_KEYS, comma-separated
 * `<application id or uid>=<key>`. The application is named as written and found when a request comes (by its
 * id, or by whichever application has that uid then), so a key can be configured before its application
 * exists, and a key given by uid follows the uid.
 */
export class ConfiguredAppKeys {
  private constructor(private readonly entries: ReadonlyArray<{ digest: Buffer; application: IdOrUid }>) {}

  static parse(entries: readonly string[], adminKeys: readonly string[] = []): ConfiguredAppKeys {
    const seen = new Set<string>(adminKeys);
    const parsed = entries.map((entry, index) => {
      const at = entry.indexOf('=');
      // Nothing of the entry is quoted back: it holds a key.
      if (at <= 0) throw new Error(`HOOKPOST_APP_API_KEYS entry ${index + 1} is not <application id or uid>=<key>`);
      const name = entry.slice(0, at).trim();
      const key = entry.slice(at + 1).trim();
      const application = parseIdOrUid('app', name);
      if (!application) throw new Error(`HOOKPOST_APP_API_KEYS entry ${index + 1}: "${name}" is neither an application id nor a uid`);
      if (key.length < 16 || /\s/.test(key)) throw new Error(`HOOKPOST_APP_API_KEYS entry ${index + 1}: a key needs at least 16 characters and no spaces`);
      if (looksLikeAppToken(key)) throw new Error(`HOOKPOST_APP_API_KEYS entry ${index + 1}: a key may not start with ${APP_TOKEN_PREFIX} (that is how issued tokens begin)`);
      if (seen.has(key)) throw new Error(`HOOKPOST_APP_API_KEYS entry ${index + 1}: the key is already used (by another entry or as an admin key in HOOKPOST_API_KEYS)`);
      seen.add(key);
      return { digest: digest(key), application };
    });
    return new ConfiguredAppKeys(parsed);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The application a presented key is scoped to, or undefined when it is not one of these keys. */
  applicationOf(presented: string): IdOrUid | undefined {
    if (this.entries.length === 0) return undefined;
    const candidate = digest(presented);
    // Every entry is compared, without stopping early.
    let found: IdOrUid | undefined;
    for (const entry of this.entries) if (timingSafeEqual(candidate, entry.digest) && !found) found = entry.application;
    return found;
  }
}
