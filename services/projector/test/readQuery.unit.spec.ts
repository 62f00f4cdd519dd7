import { CURSOR_PATTERN } from '@hookpost/contracts';
import { decodeCursor, encodeCursor } from '../src/adapters/pgReadQueries';
import { parseRfc3339, timestampOf } from '../src/readQuery';

describe('parseRfc3339', () => {
  it.each([
    ['2024-01-31T12:00:00Z', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31t12:00:00.123456z', '2024-01-31T12:00:00.123Z'],
    ['2024-01-31T12:00:00+02:30', '2024-01-31T09:30:00.000Z'],
    ['2024-02-29T00:00:00-00:00', '2024-02-29T00:00:00.000Z'],
    // a leap second reads as the second before it
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.000Z'],
    // outside the years PostgreSQL and ISO share: the nearest end, which no row passes
    ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59-23:59', '9999-12-31T23:59:59.999Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'],
  ])('Given %s, it reads %s', (raw, instant) => {
    expect(parseRfc3339(raw)).toBe(instant);
  });

  it.each(['', 'yesterday', '2024-01-31', '2024-01-31 12:00:00Z', '2024-01-31T12:00:00', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-31T24:00:00Z', '2024-01-31T12:00:00+24:00', '+002024-01-31T12:00:00Z'])(
    'Given %j, it refuses it',
    (raw) => {
      expect(parseRfc3339(raw)).toBeUndefined();
      expect(() => timestampOf({ created_after: raw }, 'created_after')).toThrow(/RFC 3339/);
    },
  );
});

describe('page cursors', () => {
  it('Given a row, its cursor has the published form and reads back as the same position', () => {
    const position = { created_at: '2026-11-29T20:29:52.237Z', id: '1fecc693-3669-46da-925a-e1b00fd8eefb' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(new RegExp(CURSOR_PATTERN));
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('Given any value of the published form, it names a position; anything else is refused', () => {
    expect(decodeCursor('0.00000000-0000-0000-0000-000000000000')).toEqual({ created_at: '1970-01-01T00:00:00.000Z', id: '00000000-0000-0000-0000-000000000000' });
    expect(decodeCursor('9999999999999.ffffffff-ffff-ffff-ffff-ffffffffffff')?.created_at).toBe('2286-11-20T17:46:39.999Z');
    for (const malformed of ['', 'forged', '1.2', '12345678901234.00000000-0000-0000-0000-000000000000', '1.00000000-0000-0000-0000-00000000000G']) {
      expect(decodeCursor(malformed)).toBeUndefined();
    }
  });
});
