import { createHash } from 'node:crypto';

/**
 * The ids the Svix v1 API shows for our internal UUIDs: `app_`, `ep_`, `msg_`, `atmpt_` (and `qtask_` for a
 * recover or replay task) followed by 27 base62 characters, the shape of Svix's own ids (a KSUID in base62),
 * so they pass the id patterns of Svix's document and clients.
 *
 * The 27 characters hold 160 bits: the UUID's 128 bits, then a 32-bit check over the prefix and the UUID.
 * The mapping is reversible without a lookup, and strict: text with another prefix, another length, a
 * character outside base62, a value past 160 bits or a check that does not match names nothing. The check
 * is not a secret (ids are not credentials; access is decided by the key's scope): it makes a typed or
 * forged id fail as malformed instead of naming a row, an id of one kind fail when given as another, and a
 * `uid` (which shares the path parameter, see parseIdOrUid) almost never parse as an id by accident.
 *
 * The UUID is in the high bits and base62 digits are in ASCII order, so external ids sort as their UUIDs
 * do — for time-ordered UUIDs (version 7, newTimeOrderedUuid) that is creation order, as Svix's ids sort.
 */

export const svixIdPrefixes = ['app', 'ep', 'msg', 'atmpt', 'qtask'] as const;
export type SvixIdPrefix = (typeof svixIdPrefixes)[number];

/** Base62 digits of a 160-bit value: 62^27 > 2^160 > 62^26. */
export const SVIX_ID_DIGITS = 27;

/** The JSON Schema pattern of an id with this prefix, as Svix's document states it. */
export function svixIdPattern(prefix: SvixIdPrefix): string {
  return `^${prefix}_[A-Za-z0-9]{${SVIX_ID_DIGITS}}$`;
}

/** Svix's `uid` (applications, endpoints) and `eventId` (messages): caller-chosen names that stand in for ids. */
export const UID_PATTERN = '^[a-zA-Z0-9\\-_.]+$';
export const UID_MAX_LENGTH = 256;
const UID = /^[a-zA-Z0-9\-_.]{1,256}$/;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGIT_VALUE = new Map([...ALPHABET].map((char, value) => [char, BigInt(value)]));
const BASE = 62n;
const MAX_VALUE = (1n << 160n) - 1n;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function check(prefix: SvixIdPrefix, bytes: Buffer): bigint {
  return BigInt(createHash('sha256').update(`${prefix}_`).update(bytes).digest().readUInt32BE(0));
}

function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `app_…` for a UUID. A value that is not a UUID is a programming error, not input: it throws. */
export function toExternalId(prefix: SvixIdPrefix, uuid: string): string {
  const lower = uuid.toLowerCase();
  if (!UUID.test(lower)) throw new RangeError(`not a UUID: ${uuid}`);
  const bytes = uuidBytes(lower);
  let value = (BigInt(`0x${bytes.toString('hex')}`) << 32n) | check(prefix, bytes);
  let digits = '';
  for (let i = 0; i < SVIX_ID_DIGITS; i++) {
    digits = ALPHABET[Number(value % BASE)] + digits;
    value /= BASE;
  }
  return `${prefix}_${digits}`;
}

/** The UUID (lower case) an external id names, or undefined when the text is not one of ours with this prefix. */
export function fromExternalId(prefix: SvixIdPrefix, text: string): string | undefined {
  if (text.length !== prefix.length + 1 + SVIX_ID_DIGITS || !text.startsWith(`${prefix}_`)) return undefined;
  let value = 0n;
  for (const char of text.slice(prefix.length + 1)) {
    const digit = DIGIT_VALUE.get(char);
    if (digit === undefined) return undefined;
    value = value * BASE + digit;
  }
  if (value > MAX_VALUE) return undefined;
  const hex = (value >> 32n).toString(16).padStart(32, '0');
  const bytes = Buffer.from(hex, 'hex');
  if ((value & 0xffffffffn) !== check(prefix, bytes)) return undefined;
  return formatUuid(hex);
}

/**
 * The UUID bits of text shaped like an id with this prefix, its check not verified: for list iterators, which
 * name a keyset position rather than a row, so that every well-formed one is taken (as the seed API's cursors
 * are) and only malformed text is refused. Never use it to find a row.
 */
export function positionOfExternalId(prefix: SvixIdPrefix, text: string): string | undefined {
  if (text.length !== prefix.length + 1 + SVIX_ID_DIGITS || !text.startsWith(`${prefix}_`)) return undefined;
  let value = 0n;
  for (const char of text.slice(prefix.length + 1)) {
    const digit = DIGIT_VALUE.get(char);
    if (digit === undefined) return undefined;
    value = value * BASE + digit;
  }
  return formatUuid(((value >> 32n) & ((1n << 128n) - 1n)).toString(16).padStart(32, '0'));
}

export type IdOrUid = Readonly<{ kind: 'id'; id: string } | { kind: 'uid'; uid: string }>;

/**
 * A path parameter that Svix lets name a resource by its id or by its uid (`app_id`, `endpoint_id`; for
 * `msg_id` the uid is the message's eventId). Text that parses as our id is the id; other text within the
 * uid pattern is a uid; anything else names nothing (undefined: answer 404, as for an unknown id).
 */
export function parseIdOrUid(prefix: SvixIdPrefix, text: string): IdOrUid | undefined {
  const id = fromExternalId(prefix, text);
  if (id) return { kind: 'id', id };
  return UID.test(text) ? { kind: 'uid', uid: text } : undefined;
}

/**
 * A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits. New applications, endpoints,
 * messages and attempts given such ids list in creation order by id alone, as Svix's do, so a list's
 * iterator can be the last id it showed (list.ts) with no lookup. `random` supplies 10 bytes (only 74 bits
 * are used); clock and randomness are passed in so that tests can pin them.
 */
export function newTimeOrderedUuid(nowMs: number, random: Uint8Array): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs >= 2 ** 48) throw new RangeError(`not a 48-bit millisecond time: ${nowMs}`);
  if (random.length < 10) throw new RangeError('a version 7 UUID takes 10 random bytes');
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes.set(random.subarray(0, 10), 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // RFC 9562 variant
  return formatUuid(bytes.toString('hex'));
}

/**
 * The lowest ('floor') or highest ('ceiling') version 7 UUID of a millisecond: turns Svix's `before`/`after`
 * times into id bounds for lists ordered by id (`id < floor(before)`, `id > ceiling(after)`).
 */
export function timeOrderedUuidBound(ms: number, bound: 'floor' | 'ceiling'): string {
  const clamped = Math.min(Math.max(Math.floor(ms), 0), 2 ** 48 - 1);
  const fill = bound === 'floor' ? 0x00 : 0xff;
  return newTimeOrderedUuid(clamped, new Uint8Array(10).fill(fill));
}
