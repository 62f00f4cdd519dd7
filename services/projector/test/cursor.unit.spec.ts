import { cursorId, forgedCursors } from '../../../test/support/forgedCursors';
import { decodeCursor, encodeCursor } from '../src/adapters/pgReadQueries';

const id = cursorId;

describe('cursors', () => {
  it('reads back every cursor this API writes', () => {
    for (const created_at of ['2026-11-29T20:47:41.192Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2024-02-29T12:00:00.000Z']) {
      expect(decodeCursor(encodeCursor({ created_at, id }))).toEqual({ created_at, id });
    }
  });

  it('refuses forged cursors', () => {
    const accepted = Object.entries(forgedCursors).filter(([, cursor]) => decodeCursor(cursor) !== undefined).map(([name]) => name);
    expect(accepted).toEqual([]);
  });
});
