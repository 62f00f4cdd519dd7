import { randomUUID } from 'node:crypto';
import { bucketFor, newBucketFrontier, payloadSubject, punctureFrontier, type BucketKeys, type PayloadKeyNode } from '../src/payloadKeys';
import { PayloadKeyring } from '../src/payloadKeyring';

const second = 1_000;

/** A key store in memory that counts what it is asked. */
function memoryStore() {
  const buckets = new Map<string, PayloadKeyNode[] | 'shredded'>();
  const asked: { bucketId: string; create: boolean }[] = [];
  return {
    buckets,
    asked,
    source: {
      async keys(bucketId: string, create: boolean): Promise<BucketKeys> {
        asked.push({ bucketId, create });
        if (create && !buckets.has(bucketId)) buckets.set(bucketId, newBucketFrontier());
        const held = buckets.get(bucketId);
        if (held === undefined) return { kind: 'unknown' };
        return held === 'shredded' ? { kind: 'shredded' } : { kind: 'live', frontier: held };
      },
    },
  };
}

describe('the payload keyring', () => {
  let clock = Date.parse('2026-03-01T10:00:00Z');
  const now = () => new Date(clock);

  it('asks the store once per bucket while sealing, and creates the next bucket ahead', async () => {
    // Given a sealer and one-minute buckets
    const store = memoryStore();
    const sealer = new PayloadKeyring(store.source, { cacheMs: 0, now });
    // When 50 payloads are sealed at once, and 50 more a moment later
    await Promise.all(Array.from({ length: 50 }, () => sealer.seal({ a: 1 }, payloadSubject('message', randomUUID()), now(), 10 * 60 * second, 60 * second)));
    await Promise.all(Array.from({ length: 50 }, () => sealer.seal({ a: 1 }, payloadSubject('message', randomUUID()), now(), 10 * 60 * second, 60 * second)));
    // Then the store was asked for their bucket once, and for the one after it once
    const bucket = bucketFor(now(), 10 * 60 * second, 60 * second);
    expect(store.asked.filter((ask) => ask.bucketId === bucket.id)).toEqual([{ bucketId: bucket.id, create: true }]);
    expect(store.asked.filter((ask) => ask.bucketId === String(Number(bucket.id) + 60 * second))).toEqual([{ bucketId: String(Number(bucket.id) + 60 * second), create: true }]);
  });

  it('opens what was sealed until an expunge reaches it (within its cache time), and nothing at or past expiry', async () => {
    const store = memoryStore();
    const sealer = new PayloadKeyring(store.source, { cacheMs: 0, now });
    const reader = new PayloadKeyring(store.source, { cacheMs: 5 * second, now });
    const subject = payloadSubject('message', randomUUID());
    const sealed = await sealer.seal({ marker: 'x' }, subject, now(), 60 * second, second);
    expect(await reader.open(sealed, subject)).toEqual({ kind: 'opened', payload: { marker: 'x' } });
    // When the message is expunged in the store
    const bucketId = sealed.split(':')[1]!;
    const frontier = store.buckets.get(bucketId) as PayloadKeyNode[];
    const change = punctureFrontier(frontier, subject)!;
    store.buckets.set(bucketId, [...frontier.filter((node) => node.prefix !== change.removed), ...change.added]);
    // Then the reader still holds its cached keys for up to its cache time, then says expunged
    expect((await reader.open(sealed, subject)).kind).toBe('opened');
    clock += 5 * second + 1;
    expect(await reader.open(sealed, subject)).toEqual({ kind: 'gone', why: 'expunged' });
    // And at its bucket's time it is expired without asking the store
    const asked = store.asked.length;
    clock = Number(bucketId);
    expect(await reader.open(sealed, subject)).toEqual({ kind: 'gone', why: 'expired' });
    expect(store.asked.length).toBe(asked);
  });

  it('refuses to seal into a bucket the store says is shredded, and forgets a failed lookup', async () => {
    const store = memoryStore();
    const bucket = bucketFor(now(), 60 * second, second);
    store.buckets.set(bucket.id, 'shredded');
    const sealer = new PayloadKeyring(store.source, { cacheMs: 0, now });
    await expect(sealer.seal({}, payloadSubject('message', randomUUID()), now(), 60 * second, second)).rejects.toThrow(/shredded/);
    let fail = true;
    const flaky = new PayloadKeyring({ keys: async (id, create) => (fail ? Promise.reject(new Error('down')) : memoryStore().source.keys(id, create)) }, { cacheMs: 0, now });
    await expect(flaky.seal({}, payloadSubject('message', randomUUID()), now(), 60 * second, second)).rejects.toThrow('down');
    fail = false;
    await expect(flaky.seal({}, payloadSubject('message', randomUUID()), now(), 60 * second, second)).resolves.toMatch(/^pk1:/);
  });
});
