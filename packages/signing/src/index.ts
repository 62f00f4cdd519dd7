import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks 1.0 (https://www.standardwebhooks.com): the signed content is
 * `${webhookId}.${timestamp}.${body}`, signed with HMAC-SHA256, sent as `webhook-signature: v1,<base64>`.
 *
 * Secrets: `whsec_<base64>` is decoded to its bytes (what Standard Webhooks and Svix do). Any other string is
 * used as its UTF-8 bytes, so a caller-chosen secret like the seed's `testsecretkey...` works; receivers
 * using the `standardwebhooks` package pass `{ format: 'raw' }` for such a secret.
 */

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_S = 5 * 60;

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

/** A new secret: `whsec_` + base64 of `bytes` random bytes (24..64). */
export function generateSecret(bytes = 32): string {
  if (bytes < 24 || bytes > 64) throw new RangeError('a secret has 24 to 64 bytes');
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export function sign(secret: string, webhookId: string, timestamp: Date, body: string): string {
  const seconds = Math.floor(timestamp.getTime() / 1000);
  const mac = createHmac('sha256', secretKeyBytes(secret)).update(`${webhookId}.${seconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

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
 * For receivers: checks the timestamp is within `toleranceSeconds` of now and that one of the `v1`
 * signatures matches, comparing in constant time. Returns the parsed body.
 */
export function verify(
  secret: string,
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

  const expected = Buffer.from(sign(secret, webhookId, new Date(seconds * 1000), body).slice(3), 'base64');
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const actual = Buffer.from(value, 'base64');
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return JSON.parse(body);
  }
  throw new WebhookVerificationError('no matching signature found');
}
