import { forgedCursors } from '../support/forgedCursors';
import { startStack, TEST_API_KEY, type Stack } from '../support/stack';

jest.setTimeout(60_000);

/**
 * Cursors are strictly parsed: a cursor the API never gave out is a 400 saying so, on every list, and never
 * reaches PostgreSQL (where ["1", "<uuid>"] used to pass Date.parse and end in a 500).
 */
let stack: Stack;
let subscriptionId: string;

beforeAll(async () => {
  stack = await startStack();
  for (const name of ['first', 'second']) {
    const created = await stack.api('POST', '/subscriptions', { name, target_url: 'https://example.com/hook' });
    subscriptionId = created.body.id;
  }
  await stack.projectionCaughtUp();
});

afterAll(async () => {
  await stack?.stop();
});

const lists = () => ['/subscriptions', '/deliveries', `/subscriptions/${subscriptionId}/deliveries`];

describe('cursors', () => {
  it('a cursor the API gave out reads the next page', async () => {
    const first = await stack.api('GET', '/subscriptions?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const next = await stack.api('GET', `/subscriptions?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(next.status).toBe(200);
    expect(next.body.data).toHaveLength(1);
    expect(next.body.data[0].id).not.toBe(first.body.data[0].id);
  });

  it('every forged cursor is a 400 problem on every list, never a database error', async () => {
    const answers: string[] = [];
    for (const list of lists()) {
      for (const [name, cursor] of Object.entries(forgedCursors)) {
        // (an empty cursor is no cursor: the first page)
        if (!cursor) continue;
        const response = await fetch(`${stack.baseUrl}${list}?cursor=${encodeURIComponent(cursor)}`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
        const type = response.headers.get('content-type') ?? '';
        const body = await response.text();
        if (response.status !== 400 || !type.startsWith('application/problem+json') || !/cursor/.test(body)) answers.push(`${list} [${name}] → ${response.status} ${body.slice(0, 120)}`);
      }
    }
    expect(answers).toEqual([]);
  });
});
