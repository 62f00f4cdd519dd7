import { deliveryTraceFrom, traceSpansOf, type JaegerSpan, type JaegerTrace } from '../src/ui/deliveryTrace';

// Jaeger's /api/traces JSON as its query API answers it (OTLP converted to Jaeger's model): typed tag lists,
// the parent as a CHILD_OF reference, the service by process id.
const T = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const span = (spanID: string, operationName: string, processID: string, startTime: number, duration: number, parent?: string, tags: JaegerSpan['tags'] = []): JaegerSpan => ({
  traceID: T,
  spanID,
  operationName,
  references: parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: parent }] : [],
  startTime,
  duration,
  tags,
  processID,
});
const jaegerTrace: JaegerTrace = {
  traceID: T,
  processes: { p1: { serviceName: 'hookpost-gateway' }, p2: { serviceName: 'hookpost-dispatcher' }, p3: { serviceName: 'hookpost-projector' } },
  spans: [
    span('0000000000000004', 'webhook attempt', 'p2', 1_700_000_000_900_000, 3_000, '0000000000000003', [
      { key: 'hookpost.delivery_id', type: 'string', value: 'd1' },
      { key: 'hookpost.attempt_number', type: 'int64', value: 2 },
      { key: 'http.response.status_code', type: 'int64', value: 200 },
      { key: 'db.statement', type: 'string', value: 'SELECT secret FROM …' },
    ]),
    span('0000000000000001', 'POST /ingest/:subscriptionId', 'p1', 1_700_000_000_000_000, 12_000, undefined, [{ key: 'span.kind', type: 'string', value: 'server' }]),
    span('0000000000000002', 'events publish', 'p1', 1_700_000_000_002_000, 4_000, '0000000000000001'),
    span('0000000000000003', 'webhook attempt', 'p2', 1_700_000_000_010_000, 5_000, '0000000000000002', [
      { key: 'hookpost.attempt_number', type: 'int64', value: 1 },
      { key: 'http.response.status_code', type: 'int64', value: 503 },
      { key: 'error', type: 'bool', value: true },
    ]),
    // a parent that was never exported: the span is a root of what is shown
    span('0000000000000005', 'project delivery.events', 'p3', 1_700_000_000_011_000, 1_000, 'ffffffffffffffff', [{ key: 'binary.thing', type: 'binary', value: 'AAEC' }]),
  ],
};

describe("a delivery's trace from Jaeger's JSON", () => {
  it('becomes our spans, by start time, with the service, the parent in the trace and the few attributes shown', () => {
    const spans = traceSpansOf(jaegerTrace);
    expect(spans.map((s) => [s.id, s.parentId, s.service, s.operation, s.startUs, s.durationUs])).toEqual([
      ['0000000000000001', null, 'hookpost-gateway', 'POST /ingest/:subscriptionId', 1_700_000_000_000_000, 12_000],
      ['0000000000000002', '0000000000000001', 'hookpost-gateway', 'events publish', 1_700_000_000_002_000, 4_000],
      ['0000000000000003', '0000000000000002', 'hookpost-dispatcher', 'webhook attempt', 1_700_000_000_010_000, 5_000],
      ['0000000000000005', null, 'hookpost-projector', 'project delivery.events', 1_700_000_000_011_000, 1_000],
      ['0000000000000004', '0000000000000003', 'hookpost-dispatcher', 'webhook attempt', 1_700_000_000_900_000, 3_000],
    ]);
    expect(spans[2]!.attributes).toEqual({ 'hookpost.attempt_number': 1, 'http.response.status_code': 503, error: true });
    // (statements, binary values and anything not listed stay in Jaeger)
    expect(spans[4]!.attributes).toEqual({ 'hookpost.delivery_id': 'd1', 'hookpost.attempt_number': 2, 'http.response.status_code': 200 });
    expect(spans[3]!.attributes).toEqual({});
  });

  it('is the earliest of the traces found, naming the others, with the link to it in Jaeger', () => {
    const later: JaegerTrace = { traceID: 'later', processes: {}, spans: [{ ...span('9', 'webhook attempt', 'px', 1_800_000_000_000_000, 10), traceID: 'later' }] };
    const trace = deliveryTraceFrom([later, { traceID: 'empty', spans: [] }, jaegerTrace], 'http://127.0.0.1:16686/');
    expect(trace).toMatchObject({ traceId: T, otherTraceIds: ['later'], jaegerUrl: `http://127.0.0.1:16686/trace/${T}` });
    expect(trace!.spans).toHaveLength(5);
    expect(traceSpansOf(later)[0]!.service).toBe('unknown');
  });

  it('is nothing when Jaeger found no span', () => {
    expect(deliveryTraceFrom([], 'http://127.0.0.1:16686')).toBeUndefined();
    expect(deliveryTraceFrom([{ traceID: T, spans: [] }], 'http://127.0.0.1:16686')).toBeUndefined();
  });
});
