import { randomBytes, randomUUID } from 'node:crypto';
import {
  fromExternalId,
  newTimeOrderedUuid,
  parseIdOrUid,
  positionOfExternalId,
  svixIdPattern,
  svixIdPrefixes,
  timeOrderedUuidBound,
  toExternalId,
} from '../src/svix/ids';

const uuid = '0b4f5c6e-8d2a-4c1b-9e3f-7a6b5c4d3e2f';

describe('external ids', () => {
  it.each(svixIdPrefixes)('round-trips random UUIDs with the %s_ prefix, in the shape Svix documents', (prefix) => {
    for (let i = 0; i < 500; i++) {
      const id = randomUUID();
      const external = toExternalId(prefix, id);
      expect(external).toMatch(new RegExp(svixIdPattern(prefix)));
      expect(fromExternalId(prefix, external)).toBe(id);
    }
  });

  it('round-trips the extremes of the 128 bits', () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']) {
      expect(fromExternalId('msg', toExternalId('msg', id))).toBe(id);
    }
  });

  it('gives the same id for upper- and lower-case UUIDs and answers lower case', () => {
    expect(toExternalId('app', uuid.toUpperCase())).toBe(toExternalId('app', uuid));
    expect(fromExternalId('app', toExternalId('app', uuid.toUpperCase()))).toBe(uuid);
  });

  it('refuses to encode what is not a UUID', () => {
    expect(() => toExternalId('app', 'not-a-uuid')).toThrow(RangeError);
  });

  describe('rejects text that is not an id of that kind', () => {
    const external = toExternalId('ep', uuid);
    const body = external.slice('ep_'.length);

    it.each([
      ['another prefix', `app_${body}`],
      ['no prefix', body],
      ['one character short', external.slice(0, -1)],
      ['one character long', `${external}0`],
      ['a character outside base62', `ep_${body.slice(0, -1)}-`],
      ['a non-ASCII digit', `ep_${body.slice(0, -1)}é`],
      ['the UUID itself', uuid],
      ['empty text', ''],
      ['a value past 160 bits', `ep_${'z'.repeat(27)}`],
    ])('%s', (_why, text) => {
      expect(fromExternalId('ep', text)).toBeUndefined();
    });

    it('an id of another kind, moved to this prefix', () => {
      expect(fromExternalId('app', `app_${body}`)).toBeUndefined();
    });

    it('any single changed character (the check covers every digit)', () => {
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      for (let at = 0; at < body.length; at++) {
        for (const char of alphabet) {
          if (char === body[at]) continue;
          const forged = `ep_${body.slice(0, at)}${char}${body.slice(at + 1)}`;
          expect(fromExternalId('ep', forged)).toBeUndefined();
        }
      }
    });

    it('random text of the right shape', () => {
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      let accepted = 0;
      for (let i = 0; i < 2000; i++) {
        const text = `ep_${[...randomBytes(27)].map((byte) => alphabet[byte % 62]).join('')}`;
        if (fromExternalId('ep', text) !== undefined) accepted++;
      }
      expect(accepted).toBe(0);
    });
  });

  it('sorts external ids as their UUIDs sort', () => {
    const ids = Array.from({ length: 200 }, () => randomUUID()).sort();
    const externals = ids.map((id) => toExternalId('msg', id));
    expect([...externals].sort()).toEqual(externals);
  });
});

describe('positionOfExternalId', () => {
  it('reads the UUID of our ids, and some UUID from any text of the right shape', () => {
    expect(positionOfExternalId('msg', toExternalId('msg', uuid))).toBe(uuid);
    expect(positionOfExternalId('msg', `msg_${'z'.repeat(27)}`)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('refuses text of another shape', () => {
    expect(positionOfExternalId('msg', toExternalId('ep', uuid))).toBeUndefined();
    expect(positionOfExternalId('msg', `msg_${'-'.repeat(27)}`)).toBeUndefined();
    expect(positionOfExternalId('msg', uuid)).toBeUndefined();
  });
});

describe('parseIdOrUid', () => {
  it('reads our id as the id', () => {
    expect(parseIdOrUid('app', toExternalId('app', uuid))).toEqual({ kind: 'id', id: uuid });
  });

  it('reads other text within the uid pattern as a uid, including an id of another kind', () => {
    expect(parseIdOrUid('app', 'customer-42.eu_west')).toEqual({ kind: 'uid', uid: 'customer-42.eu_west' });
    const endpointId = toExternalId('ep', uuid);
    expect(parseIdOrUid('app', endpointId)).toEqual({ kind: 'uid', uid: endpointId });
  });

  it.each([['empty', ''], ['a slash', 'a/b'], ['a space', 'a b'], ['257 characters', 'a'.repeat(257)]])('names nothing with %s', (_why, text) => {
    expect(parseIdOrUid('app', text)).toBeUndefined();
  });
});

describe('time-ordered UUIDs', () => {
  it('writes the time, version 7 and the RFC 9562 variant', () => {
    const id = newTimeOrderedUuid(0x0189_abcd_ef01, new Uint8Array(10).fill(0xff));
    expect(id).toBe('0189abcd-ef01-7fff-bfff-ffffffffffff');
  });

  it('orders by time, and the bounds of a millisecond enclose every id of it', () => {
    const t = Date.UTC(2026, 0, 1);
    const ids = [t + 5, t, t + 1, t + 1000].map((ms) => newTimeOrderedUuid(ms, randomBytes(10)));
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0], ids[3]]);
    const sameMs = newTimeOrderedUuid(t, randomBytes(10));
    expect(timeOrderedUuidBound(t, 'floor') <= sameMs).toBe(true);
    expect(timeOrderedUuidBound(t, 'ceiling') >= sameMs).toBe(true);
    expect(timeOrderedUuidBound(t, 'ceiling') < timeOrderedUuidBound(t + 1, 'floor')).toBe(true);
  });

  it('refuses a time outside 48 bits and too few random bytes', () => {
    expect(() => newTimeOrderedUuid(-1, randomBytes(10))).toThrow(RangeError);
    expect(() => newTimeOrderedUuid(2 ** 48, randomBytes(10))).toThrow(RangeError);
    expect(() => newTimeOrderedUuid(0, randomBytes(9))).toThrow(RangeError);
  });
});
