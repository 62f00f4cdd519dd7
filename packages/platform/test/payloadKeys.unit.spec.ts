import { randomBytes, randomUUID } from 'node:crypto';
import {
  bucketFor,
  decideOpen,
  deriveSubjectKey,
  newBucketFrontier,
  openPayload,
  parseBucketId,
  PAYLOAD_KEY_DEPTH,
  payloadGoneReason,
  payloadSubject,
  punctureFrontier,
  sealedPayloadBucket,
  sealPayload,
  SealedPayloadError,
  type PayloadKeyNode,
} from '../src/payloadKeys';

const day = 86_400_000;
const hour = 3_600_000;

function punctured(frontier: readonly PayloadKeyNode[], subject: ReturnType<typeof payloadSubject>): PayloadKeyNode[] {
  const change = punctureFrontier(frontier, subject);
  if (!change) return [...frontier];
  return [...frontier.filter((node) => node.prefix !== change.removed), ...change.added];
}

describe('scheduling retention buckets', () => {
  it('puts a payload in the first bucket boundary at or after its retention ends', () => {
    // Given a message received at 10:00 on the 1st, kept 30 days, with day buckets
    const bucket = bucketFor(new Date('2026-03-01T10:00:00Z'), 30 * day, day);
    // Then it expires at midnight starting the 1st of April (30 days and 14 hours later: never sooner than asked)
    expect(bucket.expiresAt.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(bucket.id).toBe(String(Date.parse('2026-04-01T00:00:00Z')));
  });

  it('shares one bucket between every message that expires within the same granule, and not beyond', () => {
    const at = (time: string, retentionMs: number) => bucketFor(new Date(time), retentionMs, day).id;
    expect(at('2026-03-01T00:00:01Z', 2 * day)).toBe(at('2026-03-01T23:59:59Z', 2 * day));
    // (a message received a day later with one day less of retention expires with it too)
    expect(at('2026-03-02T12:00:00Z', day)).toBe(at('2026-03-01T12:00:00Z', 2 * day));
    expect(at('2026-03-02T00:00:01Z', 2 * day)).not.toBe(at('2026-03-01T23:59:59Z', 2 * day));
  });

  it('keeps a payload that ends exactly on a boundary until that boundary', () => {
    expect(bucketFor(new Date('2026-03-01T00:00:00Z'), 24 * hour, day).expiresAt.toISOString()).toBe('2026-03-02T00:00:00.000Z');
  });

  it('refuses a retention or a granularity that is not positive, and reads back only bucket ids', () => {
    expect(() => bucketFor(new Date(), 0, day)).toThrow();
    expect(() => bucketFor(new Date(), day, 0)).toThrow();
    expect(parseBucketId('1775001600000')?.expiresAt.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    for (const bad of ['', '0', '-1', '1.5', 'abc', '01', '1'.repeat(17)]) expect(parseBucketId(bad)).toBeUndefined();
  });
});

describe('sealing and opening payloads', () => {
  const bucket = bucketFor(new Date('2026-03-01T10:00:00Z'), 2 * day, day);
  const frontier = newBucketFrontier();
  const message = payloadSubject('message', randomUUID());
  const key = deriveSubjectKey(frontier, message)!;

  it('opens what it sealed, and the sealed form carries neither the payload nor its key', () => {
    const sealed = sealPayload({ marker: 'secret-marker-123', amount: 42 }, key, bucket.id, message);
    expect(sealed.startsWith(`pk1:${bucket.id}:`)).toBe(true);
    expect(sealed).not.toContain('secret-marker-123');
    expect(Buffer.from(sealed.split(':')[2]!, 'base64').toString('latin1')).not.toContain('secret-marker-123');
    expect(sealedPayloadBucket(sealed)).toEqual(bucket);
    expect(openPayload(sealed, key, message)).toEqual({ marker: 'secret-marker-123', amount: 42 });
  });

  it('does not open for another message, under another key, or altered', () => {
    const sealed = sealPayload({ a: 1 }, key, bucket.id, message);
    const other = payloadSubject('message', randomUUID());
    expect(() => openPayload(sealed, key, other)).toThrow(SealedPayloadError);
    expect(() => openPayload(sealed, randomBytes(32), message)).toThrow(SealedPayloadError);
    const blob = Buffer.from(sealed.split(':')[2]!, 'base64');
    blob.writeUInt8(blob.readUInt8(blob.length - 1) ^ 1, blob.length - 1);
    expect(() => openPayload(`pk1:${bucket.id}:${blob.toString('base64')}`, key, message)).toThrow(SealedPayloadError);
    // (moved to another bucket: the bucket is associated data too)
    expect(() => openPayload(sealed.replace(`pk1:${bucket.id}:`, `pk1:${Number(bucket.id) + day}:`), key, message)).toThrow(SealedPayloadError);
    expect(() => sealedPayloadBucket('sealed:v2:k:abc')).toThrow(SealedPayloadError);
  });
});

describe('deriving a message key', () => {
  it('derives the same key as every earlier version (the log keeps payloads sealed under it for months)', () => {
    // A pinned vector: changing the derivation would leave every payload already in the log unopenable.
    const root = [{ prefix: '', key: Buffer.alloc(32, 7) }];
    expect(deriveSubjectKey(root, 'message:0b0b0b0b-0000-4000-8000-000000000001')!.toString('hex')).toBe('6a68faebe2d6afb7e679d04710ef4bed34e0b3df8cfd2ebdd775fc2a7b131f4e');
    // (ids are compared lower-cased)
    expect(payloadSubject('message', '0B0B0B0B-0000-4000-8000-000000000001')).toBe('message:0b0b0b0b-0000-4000-8000-000000000001');
  });

  it('derives a 16-ary bucket\'s keys as pinned: one hex digit of the path per level, SHA-256 of the key, "h" and the digit', () => {
    // (the vector computed apart from this code, with Python's hashlib: path 3e3440523629e9ab)
    const root = [{ prefix: 'h', key: Buffer.alloc(32, 7) }];
    expect(deriveSubjectKey(root, 'message:0b0b0b0b-0000-4000-8000-000000000001')!.toString('hex')).toBe('27dba7a3824a38f0b65802859a0ed92d386dc2fb174df8e2c07abd874f76d5df');
  });

  it('makes new buckets 16-ary, and keeps opening binary ones as they were', () => {
    const fresh = newBucketFrontier(() => Buffer.alloc(32, 7));
    expect(fresh).toEqual([{ prefix: 'h', key: Buffer.alloc(32, 7) }]);
    const subject = payloadSubject('delivery', randomUUID());
    // (the same root key as a binary root derives another key: the shapes never share a child)
    expect(deriveSubjectKey(fresh, subject)!.equals(deriveSubjectKey([{ prefix: '', key: Buffer.alloc(32, 7) }], subject)!)).toBe(false);
  });
});

describe.each([
  // (a 16-ary tree: 16 levels of 15 siblings; a binary one, as buckets made before it: 64 levels of 1)
  { shape: '16-ary', root: 'h', siblings: 15 * (PAYLOAD_KEY_DEPTH / 4) },
  { shape: 'binary', root: '', siblings: PAYLOAD_KEY_DEPTH },
])('forgetting one message in a bucket (puncturing its $shape key tree)', ({ root: rootPrefix, siblings }) => {
  const subjects = Array.from({ length: 200 }, () => payloadSubject('message', randomUUID()));
  const root = [{ prefix: rootPrefix, key: randomBytes(32) }];

  it('makes that message unopenable while every other key stays exactly the same', () => {
    // Given a bucket's root and 200 messages
    const before = subjects.map((subject) => deriveSubjectKey(root, subject)!);
    // When the first is expunged
    const after = punctured(root, subjects[0]!);
    // Then the root is gone, the siblings along the path replace it, and only the first message has no key
    expect(after.some((node) => node.prefix === rootPrefix)).toBe(false);
    expect(after.length).toBe(siblings);
    expect(after.every((node) => node.prefix.startsWith(rootPrefix))).toBe(true);
    expect(deriveSubjectKey(after, subjects[0]!)).toBeUndefined();
    subjects.slice(1).forEach((subject, index) => expect(deriveSubjectKey(after, subject)!.equals(before[index + 1]!)).toBe(true));
  });

  it('is idempotent, and several expunges leave each other alone', () => {
    let frontier = punctured(root, subjects[0]!);
    expect(punctureFrontier(frontier, subjects[0]!)).toBeUndefined();
    for (const subject of subjects.slice(1, 20)) frontier = punctured(frontier, subject);
    for (const subject of subjects.slice(0, 20)) expect(deriveSubjectKey(frontier, subject)).toBeUndefined();
    for (const subject of subjects.slice(20)) expect(deriveSubjectKey(frontier, subject)!.equals(deriveSubjectKey(root, subject)!)).toBe(true);
    // (no node of the frontier derives the key of an expunged message: none is an ancestor of its path)
    expect(frontier.length).toBeLessThanOrEqual(20 * siblings);
  });
});

describe('deciding whether a sealed payload opens', () => {
  const receivedAt = new Date('2026-03-01T10:00:00Z');
  const bucket = bucketFor(receivedAt, 2 * day, day);
  const frontier = newBucketFrontier();
  const subject = payloadSubject('delivery', randomUUID());
  const sealed = sealPayload({ a: 1 }, deriveSubjectKey(frontier, subject)!, bucket.id, subject);
  const before = new Date(bucket.expiresAt.getTime() - 1);

  it('opens while the bucket lives and covers the subject', () => {
    expect(decideOpen(sealed, subject, { kind: 'live', frontier }, before)).toEqual({ kind: 'opened', payload: { a: 1 } });
  });

  it('says expired at the bucket time even with its keys still at hand, and when shredded', () => {
    expect(decideOpen(sealed, subject, { kind: 'live', frontier }, bucket.expiresAt)).toEqual({ kind: 'gone', why: 'expired' });
    expect(decideOpen(sealed, subject, { kind: 'shredded' }, before)).toEqual({ kind: 'gone', why: 'expired' });
  });

  it('says expunged once the subject is punctured, and missing for a bucket the store never had', () => {
    expect(decideOpen(sealed, subject, { kind: 'live', frontier: punctured(frontier, subject) }, before)).toEqual({ kind: 'gone', why: 'expunged' });
    expect(decideOpen(sealed, subject, { kind: 'unknown' }, before)).toEqual({ kind: 'gone', why: 'missing' });
    expect(payloadGoneReason('expired')).toMatch(/retention/);
  });
});
