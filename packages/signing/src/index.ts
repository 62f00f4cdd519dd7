import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as edSign, timingSafeEqual, verify as edVerify } from 'node:crypto';

/**
 * Standard Webhooks 1.0 (https://www.standardwebhooks.com): the signed content is
 * `${webhookId}.${timestamp}.${body}`.
 * - Symmetric: HMAC-SHA256, sent as `v1,<base64>`. `whsec_<base64>` secrets are decoded to their bytes (as
 *   Standard Webhooks and Svix do); any other string is used as its UTF-8 bytes, so a caller-chosen secret like
 *   the seed's `testsecretkey...` works (receivers using the `standardwebhooks` package pass `{ format: 'raw' }`).
 * - Asymmetric: ed25519, sent as `v1a,<base64>`. The signing key is `whsk_` + base64 of its 32-byte seed, the
 *   public key `whpk_` + base64 of its 32 bytes.
 * Several keys (during a rotation) give several space-separated signatures; a receiver needs one to match.
 */

const SECRET_PREFIX = 'whsec_';
const SIGNING_KEY_PREFIX = 'whsk_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const DEFAULT_TOLERANCE_S = 5 * 60;
// DER headers that turn a raw ed25519 seed / public key into PKCS#8 / SPKI for node:crypto.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export function secretKeyBytes(secret: string): Buffer {
  if (secret.startsWith(SECRET_PREFIX)) return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

const SECRET_MIN_BYTES = 24;
const SECRET_MAX_BYTES = 64;
// Standard base64, padded or not: what receivers' Standard Webhooks libraries decode. Node would also take
// base64url and stray characters, and then sign with bytes the receiver never derives.
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * Why `secret` cannot be the key of an HMAC-SHA256 (v1) subscription, or undefined when it can: a `whsk_` or
 * `whpk_` string is an ed25519 key (signing would take it for one), and a `whsec_` secret must be standard
 * base64 of 24 to 64 bytes, as Standard Webhooks receivers expect. Any other string is used as its UTF-8 bytes.
 */
export function hmacSecretProblem(secret: string): string | undefined {
  if (secret.startsWith(SIGNING_KEY_PREFIX) || secret.startsWith(PUBLIC_KEY_PREFIX)) {
    return `is an ed25519 key (${SIGNING_KEY_PREFIX}/${PUBLIC_KEY_PREFIX}), not an HMAC secret`;
  }
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!STANDARD_BASE64.test(encoded)) return `must be ${SECRET_PREFIX} followed by standard base64`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < SECRET_MIN_BYTES || bytes > SECRET_MAX_BYTES) {
    return `must be ${SECRET_PREFIX} followed by base64 of ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes, not ${bytes}`;
  }
  return undefined;
}

/** A new secret: `whsec_` + base64 of `bytes` random bytes (24..64). */
export function generateSecret(bytes = 32): string {
  if (bytes < SECRET_MIN_BYTES || bytes > SECRET_MAX_BYTES) throw new RangeError(`a secret has ${SECRET_MIN_BYTES} to ${SECRET_MAX_BYTES} bytes`);
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/** A new ed25519 key pair: the signing key (`whsk_`) stays with us, the public key (`whpk_`) goes to receivers. */
export function generateSigningKeyPair(): { signingKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  return { signingKey: SIGNING_KEY_PREFIX + seed.toString('base64'), publicKey: PUBLIC_KEY_PREFIX + raw.toString('base64') };
}

export function isSigningKey(secret: string): boolean {
  return secret.startsWith(SIGNING_KEY_PREFIX);
}

/** The public key that belongs to a `whsk_` signing key. */
export function publicKeyOf(signingKey: string): string {
  const raw = createPublicKey(signingPrivateKey(signingKey)).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  return PUBLIC_KEY_PREFIX + raw.toString('base64');
}

function signingPrivateKey(signingKey: string) {
  const seed = Buffer.from(signingKey.slice(SIGNING_KEY_PREFIX.length), 'base64');
  if (seed.length !== 32) throw new Error('an ed25519 signing key has 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

function verifyingPublicKey(publicKey: string) {
  const raw = Buffer.from(publicKey.slice(PUBLIC_KEY_PREFIX.length), 'base64');
  if (!publicKey.startsWith(PUBLIC_KEY_PREFIX) || raw.length !== 32) throw new WebhookVerificationError('not a whpk_ ed25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

function signedContent(webhookId: string, timestamp: Date, body: string): string {
  return `${webhookId}.${Math.floor(timestamp.getTime() / 1000)}.${body}`;
}

/** One signature: `v1a,` for a `whsk_` signing key, else `v1,` (HMAC-SHA256). */
export function sign(secret: string, webhookId: string, timestamp: Date, body: string): string {
  const content = signedContent(webhookId, timestamp, body);
  if (isSigningKey(secret)) return `v1a,${edSign(null, Buffer.from(content), signingPrivateKey(secret)).toString('base64')}`;
  return `v1,${createHmac('sha256', secretKeyBytes(secret)).update(content).digest('base64')}`;
}

export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** The three headers for one delivery attempt; several secrets (during a rotation) give several signatures. */
export function signedHeaders(secrets: readonly string[], webhookId: string, timestamp: Date, body: string): SignedHeaders {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => sign(secret, webhookId, timestamp, body)).join(' '),
  };
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string {
  const value = headers[name] ?? headers[name.toLowerCase()];
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) throw new WebhookVerificationError(`missing ${name} header`);
  return text;
}

/**
 * For receivers: checks the timestamp is within `toleranceSeconds` of now and that one signature matches
 * the key: a `whsec_`/raw secret checks `v1` signatures (constant-time comparison), a `whpk_` public key
 * checks `v1a` signatures. Returns the parsed body; throws WebhookVerificationError.
 */
export function verify(
  key: string,
  body: string,
  headers: HeaderBag,
  options: { now?: Date; toleranceSeconds?: number } = {},
): unknown {
  const webhookId = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  const seconds = Number(timestampText);
  if (!/^\d+$/.test(timestampText) || !Number.isSafeInteger(seconds)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_S;
  if (nowSeconds - seconds > tolerance) throw new WebhookVerificationError('message timestamp too old');
  if (seconds - nowSeconds > tolerance) throw new WebhookVerificationError('message timestamp too new');

  const timestamp = new Date(seconds * 1000);
  const asymmetric = key.startsWith(PUBLIC_KEY_PREFIX);
  const publicKey = asymmetric ? verifyingPublicKey(key) : undefined;
  const expected = asymmetric ? undefined : Buffer.from(sign(key, webhookId, timestamp, body).slice(3), 'base64');
  const content = Buffer.from(signedContent(webhookId, timestamp, body));
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (!value) continue;
    const actual = Buffer.from(value, 'base64');
    if (asymmetric && version === 'v1a' && edVerify(null, content, publicKey!, actual)) return JSON.parse(body);
    if (!asymmetric && version === 'v1' && actual.length === expected!.length && timingSafeEqual(actual, expected!)) return JSON.parse(body);
  }
  throw new WebhookVerificationError('no matching signature found');
}
