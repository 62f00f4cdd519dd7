import { createCipheriv, createDecipheriv, createHash, hash, randomBytes } from 'node:crypto';

/**
 * Payload retention by crypto-shredding (docs/design-notes.md, "Retention and crypto-shredding"). The log is
 * immutable, so a payload is written to it sealed, and forgetting the key is what removes it:
 *
 * - Every payload belongs to a retention bucket, named by the instant it expires (its retention, rounded up
 *   to the bucket granularity), so one key covers every message that expires together.
 * - The bucket's key is the root of a tree of keys (a GGM tree): a node's children are hashes of it, and a
 *   message's own key is the leaf at the path of its id's hash. The key store holds the bucket's frontier: the
 *   root at first. Expunging one message replaces the node above its leaf by the siblings along the path, so
 *   every other message still opens and that one never again.
 * - Two shapes of tree, told apart by the root's prefix: binary (root '', 64 levels; buckets made before the
 *   16-ary tree, still opened as they were) and 16-ary (root 'h', 16 levels of one hex digit). Every payload
 *   is opened on the hot path of three services (a key each), and 64 hashes took 49–84 µs per key; the
 *   16-ary tree derives a key in 16 (17–23 µs), and an expunge adds up to 240 nodes instead of 64 (expunges are rare).
 * - When the bucket expires, its frontier is deleted: every payload in it is unreadable at once.
 *
 * Everything here is pure (the random source of a new key aside); the store and its caches are adapters.
 */

/** Path length in bits: the first 64 bits of SHA-256 of the subject (two subjects sharing a path share a key). */
export const PAYLOAD_KEY_DEPTH = 64;

/** The root prefix of a 16-ary tree (a binary tree's root is ''; its prefixes are only 0s and 1s). */
const WIDE_ROOT = 'h';
const HEX_DIGITS = '0123456789abcdef';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = 'pk1';

/** A node of a bucket's key tree: its path from the root as bits ('' for the root), and its 32-byte key. */
export type PayloadKeyNode = Readonly<{ prefix: string; key: Buffer }>;
export type PayloadKeyFrontier = ReadonlyArray<PayloadKeyNode>;

/** A retention bucket: every payload that expires at `expiresAt`. Its id is that instant in epoch ms. */
export type PayloadBucket = Readonly<{ id: string; expiresAt: Date }>;

/** What a payload is sealed for: its message (the Svix API) or its delivery (the seed's ingest). */
export type PayloadSubject = `message:${string}` | `delivery:${string}`;

export function payloadSubject(kind: 'message' | 'delivery', id: string): PayloadSubject {
  return `${kind}:${id.toLowerCase()}`;
}

/**
 * The bucket of a payload received at `receivedAt` and kept `retentionMs`: it expires at the first bucket
 * boundary (a multiple of `granularityMs` since the epoch) at or after receivedAt + retentionMs, so it is kept
 * at least its retention and at most one granularity longer.
 */
export function bucketFor(receivedAt: Date, retentionMs: number, granularityMs: number): PayloadBucket {
  if (!(retentionMs > 0) || !(granularityMs > 0)) throw new Error('retention and granularity must be positive');
  const expiresAtMs = Math.ceil((receivedAt.getTime() + retentionMs) / granularityMs) * granularityMs;
  return { id: String(expiresAtMs), expiresAt: new Date(expiresAtMs) };
}

/** The bucket an id names, or undefined when it is not one (a bucket id is the expiry in epoch ms). */
export function parseBucketId(id: string): PayloadBucket | undefined {
  if (!/^[1-9]\d{0,15}$/.test(id)) return undefined;
  const expiresAt = new Date(Number(id));
  return Number.isNaN(expiresAt.getTime()) ? undefined : { id, expiresAt };
}

/** A new bucket's frontier: one random root, of a 16-ary tree. */
export function newBucketFrontier(random: (bytes: number) => Buffer = randomBytes): PayloadKeyNode[] {
  return [{ prefix: WIDE_ROOT, key: random(32) }];
}

type TreeShape = 'binary' | 'wide';

/** A frontier is all of one tree: 16-ary when its nodes' prefixes start with the wide root. */
function shapeOf(frontier: PayloadKeyFrontier): TreeShape {
  return frontier[0]?.prefix.startsWith(WIDE_ROOT) ? 'wide' : 'binary';
}

/** The subject's path: 64 bits ('0'/'1'), or the wide root and the same 64 bits as 16 hex digits. */
function pathOf(subject: PayloadSubject, shape: TreeShape): string {
  const hash = createHash('sha256').update(subject, 'utf8').digest();
  if (shape === 'wide') return WIDE_ROOT + hash.subarray(0, PAYLOAD_KEY_DEPTH / 8).toString('hex');
  let bits = '';
  for (let index = 0; index < PAYLOAD_KEY_DEPTH / 8; index += 1) bits += hash[index]!.toString(2).padStart(8, '0');
  return bits;
}

/**
 * A child of a node: SHA-256 of the node's 32-byte key and the step. Binary: the bit as one byte ('0'/'1', 33
 * bytes in all); 16-ary: 'h' and the hex digit (34 bytes), so no child of one shape is a child of the other.
 * A fixed-length input under a secret prefix, so no length extension applies; one-shot hashing, because a key
 * is derived on the request path.
 */
function child(node: Buffer, step: string, shape: TreeShape): Buffer {
  const input = Buffer.allocUnsafe(shape === 'wide' ? 34 : 33);
  node.copy(input, 0, 0, 32);
  if (shape === 'wide') {
    input[32] = 0x68;
    input[33] = step.charCodeAt(0);
  } else {
    input[32] = step === '0' ? 0x30 : 0x31;
  }
  return hash('sha256', input, 'buffer') as Buffer;
}

function walk(from: PayloadKeyNode, path: string, shape: TreeShape): Buffer {
  let key = from.key;
  for (let depth = from.prefix.length; depth < path.length; depth += 1) key = child(key, path[depth]!, shape);
  return key;
}

function coveringNode(frontier: PayloadKeyFrontier, path: string): PayloadKeyNode | undefined {
  return frontier.find((node) => path.startsWith(node.prefix));
}

/** The subject's key, or undefined when the frontier no longer covers it (expunged). */
export function deriveSubjectKey(frontier: PayloadKeyFrontier, subject: PayloadSubject): Buffer | undefined {
  const shape = shapeOf(frontier);
  const path = pathOf(subject, shape);
  const node = coveringNode(frontier, path);
  return node ? walk(node, path, shape) : undefined;
}

/**
 * Forgetting one subject's key: the node covering its path is removed and the siblings along the path below
 * it are added, so every other path is still covered. Undefined when it is not covered already (idempotent).
 */
export function punctureFrontier(frontier: PayloadKeyFrontier, subject: PayloadSubject): { removed: string; added: PayloadKeyNode[] } | undefined {
  const shape = shapeOf(frontier);
  const path = pathOf(subject, shape);
  const node = coveringNode(frontier, path);
  if (!node) return undefined;
  const steps = shape === 'wide' ? HEX_DIGITS : '01';
  const added: PayloadKeyNode[] = [];
  let key = node.key;
  for (let depth = node.prefix.length; depth < path.length; depth += 1) {
    for (const other of steps) if (other !== path[depth]) added.push({ prefix: path.slice(0, depth) + other, key: child(key, other, shape) });
    key = child(key, path[depth]!, shape);
  }
  return { removed: node.prefix, added };
}

/** A sealed payload that does not open: not sealed the way sealPayload seals, or under another key or subject. */
export class SealedPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedPayloadError';
  }
}

/**
 * A payload sealed for the log: `pk1:<bucket id>:<base64 of iv(12) | tag(16) | ciphertext>`, AES-256-GCM
 * under the subject's key, with the bucket and subject as associated data (a sealed payload copied into
 * another message's event does not open).
 */
export function sealPayload(payload: object, key: Buffer, bucketId: string, subject: PayloadSubject, random: (bytes: number) => Buffer = randomBytes): string {
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(`${bucketId}/${subject}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return `${SEALED_PREFIX}:${bucketId}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

/** The bucket a sealed payload belongs to; throws SealedPayloadError when it is not a sealed payload. */
export function sealedPayloadBucket(sealed: string): PayloadBucket {
  const [marker, bucketId, blob, ...rest] = sealed.split(':');
  const bucket = marker === SEALED_PREFIX && blob && rest.length === 0 ? parseBucketId(bucketId ?? '') : undefined;
  if (!bucket) throw new SealedPayloadError('not a sealed payload');
  return bucket;
}

export function openPayload(sealed: string, key: Buffer, subject: PayloadSubject): Record<string, unknown> {
  const bucket = sealedPayloadBucket(sealed);
  const bytes = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new SealedPayloadError('the sealed payload is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`${bucket.id}/${subject}`, 'utf8'));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  let text: string;
  try {
    text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SealedPayloadError(`the payload does not open as ${subject}: sealed for another message, or altered`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** Where a node key is kept sealed under the master keys (SecretBox's associated data). */
export function payloadNodeContext(bucketId: string, prefix: string): string {
  return `payload-key:${bucketId}:${prefix || 'root'}`;
}

/** Why a sealed payload no longer opens: its bucket expired (retention), the message was expunged, or the key store has no such bucket. */
export type PayloadGone = 'expired' | 'expunged' | 'missing';

export type OpenedPayload = { kind: 'opened'; payload: Record<string, unknown> } | { kind: 'gone'; why: PayloadGone };

/** What the key store says of a bucket: its frontier, shredded (expired), or never created. */
export type BucketKeys = { kind: 'live'; frontier: PayloadKeyFrontier } | { kind: 'shredded' } | { kind: 'unknown' };

/**
 * Opening a sealed payload given what the store says of its bucket. A bucket past its expiry does not open
 * even if a cache still holds its keys: a retry after expiry ends whatever the caches say.
 */
export function decideOpen(sealed: string, subject: PayloadSubject, keys: BucketKeys, now: Date): OpenedPayload {
  const bucket = sealedPayloadBucket(sealed);
  if (bucket.expiresAt.getTime() <= now.getTime()) return { kind: 'gone', why: 'expired' };
  switch (keys.kind) {
    case 'shredded':
      return { kind: 'gone', why: 'expired' };
    case 'unknown':
      return { kind: 'gone', why: 'missing' };
    case 'live': {
      const key = deriveSubjectKey(keys.frontier, subject);
      return key ? { kind: 'opened', payload: openPayload(sealed, key, subject) } : { kind: 'gone', why: 'expunged' };
    }
    default: {
      const unknown: never = keys;
      throw new Error(`unknown bucket keys ${JSON.stringify(unknown)}`);
    }
  }
}

/** The reason a delivery whose payload is gone ends with (DeliveryCancelled.reason). */
export function payloadGoneReason(why: PayloadGone): string {
  switch (why) {
    case 'expired':
      return 'payload expired (retention period ended)';
    case 'expunged':
      return 'payload expunged';
    case 'missing':
      return 'payload key missing from the key store';
    default: {
      const unknown: never = why;
      throw new Error(`unknown payload gone ${JSON.stringify(unknown)}`);
    }
  }
}
