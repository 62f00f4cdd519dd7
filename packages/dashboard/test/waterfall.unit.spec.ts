import type { TraceSpan } from '../src/api/types';
import { attemptOutcome, formatMs, isFrameworkSpan, layoutWaterfall, MIN_WIDTH } from '../src/lib/waterfall';

const span = (id: string, parentId: string | null, startUs: number, durationUs: number, over: Partial<TraceSpan> = {}): TraceSpan => ({
  id,
  parentId,
  service: 'hookpost-gateway',
  operation: `op ${id}`,
  startUs,
  durationUs,
  attributes: {},
  ...over,
});
const T0 = 1_700_000_000_000_000;

describe("the trace waterfall's layout", () => {
  it('orders rows by start, indents by depth under their parents and places bars by time', () => {
    const { rows, totalMs, services } = layoutWaterfall([
      span('c', 'b', T0 + 250_000, 500_000, { service: 'hookpost-dispatcher', operation: 'webhook attempt', attributes: { 'hookpost.attempt_number': 1, 'http.response.status_code': 503 } }),
      span('a', null, T0, 100_000),
      span('b', 'a', T0 + 50_000, 20_000),
      span('d', 'c', T0 + 900_000, 100_000, { service: 'hookpost-dispatcher', operation: 'webhook attempt', attributes: { 'hookpost.attempt_number': 2, 'http.response.status_code': 200 } }),
      span('e', 'missing', T0 + 60_000, 1_000, { service: 'hookpost-projector' }),
    ]);
    expect(totalMs).toBe(1_000);
    expect(services).toEqual(['hookpost-dispatcher', 'hookpost-gateway', 'hookpost-projector']);
    expect(rows.map((row) => [row.span.id, row.depth, row.startMs, row.durationMs])).toEqual([
      ['a', 0, 0, 100],
      ['b', 1, 50, 20],
      ['e', 0, 60, 1],
      ['c', 2, 250, 500],
      ['d', 3, 900, 100],
    ]);
    expect(rows.map((row) => [row.offset, row.width])).toEqual([
      [0, 0.1],
      [0.05, 0.02],
      [0.06, MIN_WIDTH], // (1 µs of 1 s: drawn at the least width)
      [0.25, 0.5],
      [0.9, 0.1],
    ]);
    expect(rows.map((row) => row.attempt)).toEqual([
      undefined,
      undefined,
      undefined,
      { number: 1, outcome: 'failed', statusCode: 503 },
      { number: 2, outcome: 'succeeded', statusCode: 200 },
    ]);
  });

  it('keeps a bar too short to see inside the trace, and survives a cycle and an empty trace', () => {
    const { rows } = layoutWaterfall([span('a', null, T0, 1_000_000), span('z', 'a', T0 + 1_000_000, 0)]);
    expect(rows[1]).toMatchObject({ width: MIN_WIDTH, offset: 1 - MIN_WIDTH, depth: 1 });
    expect(layoutWaterfall([span('x', 'y', T0, 10), span('y', 'x', T0 + 5, 10)]).rows.map((row) => row.depth)).toEqual([1, 1]);
    expect(layoutWaterfall([])).toEqual({ rows: [], totalMs: 0, services: [] });
  });

  it("names an attempt's outcome from what the dispatcher recorded", () => {
    const attempt = (attributes: TraceSpan['attributes']) => span('a', null, T0, 1, { operation: 'webhook attempt', attributes });
    expect(attemptOutcome(attempt({ 'http.response.status_code': 204 }))).toBe('succeeded');
    expect(attemptOutcome(attempt({ 'http.response.status_code': 410 }))).toBe('failed');
    expect(attemptOutcome(attempt({ 'hookpost.deferred_ms': 1000 }))).toBe('deferred');
    expect(attemptOutcome(attempt({ 'hookpost.skipped': 'attempted already' }))).toBe('skipped');
    expect(attemptOutcome(attempt({ error: true }))).toBe('error');
    expect(attemptOutcome(attempt({}))).toBe('no response');
  });

  it('writes times in the unit that reads best', () => {
    expect([formatMs(0.25), formatMs(12.34), formatMs(250.4), formatMs(12_345)]).toEqual(['250 µs', '12.3 ms', '250 ms', '12.3 s']);
  });
});

describe("the waterfall without Express's own spans", () => {
  it("hides the middleware, router and handler spans and draws their children under the request's span", () => {
    const spans = [
      span('req', null, T0, 1_000, { operation: 'POST /ingest/:subscriptionId' }),
      span('mw', 'req', T0 + 10, 5, { operation: 'middleware - jsonParser' }),
      span('rt', 'req', T0 + 20, 900, { operation: 'router - /ui/api/session' }),
      span('h', 'rt', T0 + 30, 800, { operation: 'request handler - /ingest/:subscriptionId' }),
      span('pub', 'h', T0 + 40, 700, { operation: 'events publish' }),
    ];
    expect(spans.filter(isFrameworkSpan).map((s) => s.id)).toEqual(['mw', 'rt', 'h']);
    expect(layoutWaterfall(spans, { hide: isFrameworkSpan }).rows.map((row) => [row.span.id, row.depth])).toEqual([
      ['req', 0],
      ['pub', 1],
    ]);
    expect(layoutWaterfall(spans).rows.map((row) => row.depth)).toEqual([0, 1, 1, 2, 3]);
  });
});
