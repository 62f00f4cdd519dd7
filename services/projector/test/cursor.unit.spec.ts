import { cursorId, forgedCursors } from '../../../test/support/forgedCursors';
import { decodeCursor, encodeCursor } from '../src/adapters/pgReadQueries';

const id = cursorId;

describe('cursors', () => {
  it('reads back every cursor this API writes', () => {
    // (rows are stamped by the gateway's clock: any time from 1970 to 2286 fits the form's 13 digits)
    for (const created_at of ['2026-11-29T20:47:41.192Z', '1970-01-01T00:00:00.000Z', '2286-11-20T17:46:39.999Z', '2024-02-29T12:00:00.000Z']) {
      expect(decodeCursor(encodeCursor({ created_at, id }))).toEqual({ created_at, id });
    }
  });

  it('refuses forged cursors', () => {
    const accepted = Object.entries(forgedCursors).filter(([, cursor]) => decodeCursor(cursor) !== undefined).map(([name]) => name);
    expect(accepted).toEqual([]);
  });
});
