/**
 * A delivery's trace as the dashboard draws it (docs/dashboard.md, "Trace"): Jaeger's query API answers its own
 * model (/api/traces: spans with references, typed tag lists, processes by id); the page gets a small shape of
 * ours instead, so it depends on neither Jaeger's JSON nor on every attribute an instrumentation records (SQL
 * statements, URLs, broker addresses stay in Jaeger, for whoever may open it).
 */

/** A span of Jaeger's JSON (the fields read here). */
export type JaegerSpan = {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: string; traceID: string; spanID: string }[] | null;
  startTime: number;
  duration: number;
  tags?: { key: string; type?: string; value: unknown }[] | null;
  processID?: string;
};
export type JaegerTrace = { traceID: string; spans: JaegerSpan[]; processes?: Record<string, { serviceName: string }> | null };

export type TraceAttributeValue = string | number | boolean;

export type TraceSpan = {
  id: string;
  /** The CHILD_OF reference's span, when that span is in the trace; null for a root (or an orphan: its parent was not exported). */
  parentId: string | null;
  service: string;
  operation: string;
  /** Microseconds since the Unix epoch. */
  startUs: number;
  durationUs: number;
  /** The few attributes the page shows (ATTRIBUTES below), when the span has them. */
  attributes: Record<string, TraceAttributeValue>;
};

export type DeliveryTrace = {
  traceId: string;
  spans: TraceSpan[];
  /** Other traces holding spans of the same delivery (rare: e.g. a retry restored by the reconciler), newest last. */
  otherTraceIds: string[];
  /** `<HOOKPOST_JAEGER_UI_URL or HOOKPOST_JAEGER_URL>/trace/<traceId>`: Jaeger's UI, when the Jaeger there has one. */
  jaegerUrl: string;
};

/** What the page shows of a span: the attempt's identity and outcome, the HTTP status, the span's error. */
export const ATTRIBUTES = [
  'hookpost.delivery_id',
  'hookpost.attempt_number',
  'http.response.status_code',
  'http.request.method',
  'http.route',
  'hookpost.deferred_ms',
  'hookpost.skipped',
  'span.kind',
  'error',
  'otel.status_code',
] as const;

function attributeValue(value: unknown): TraceAttributeValue | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > 200 ? `${value.slice(0, 200)}…` : value;
    case 'number':
    case 'boolean':
      return value;
    default:
      return undefined;
  }
}

export function traceSpansOf(trace: JaegerTrace): TraceSpan[] {
  const ids = new Set(trace.spans.map((span) => span.spanID));
  return trace.spans
    .map((span) => {
      const parent = (span.references ?? []).find((reference) => reference.refType === 'CHILD_OF' && ids.has(reference.spanID));
      const attributes: Record<string, TraceAttributeValue> = {};
      for (const tag of span.tags ?? []) {
        if (!(ATTRIBUTES as readonly string[]).includes(tag.key)) continue;
        const value = attributeValue(tag.value);
        if (value !== undefined) attributes[tag.key] = value;
      }
      return {
        id: span.spanID,
        parentId: parent ? parent.spanID : null,
        service: (span.processID && trace.processes?.[span.processID]?.serviceName) || 'unknown',
        operation: span.operationName,
        startUs: Number(span.startTime),
        durationUs: Number(span.duration),
        attributes,
      };
    })
    .sort((a, b) => a.startUs - b.startUs || a.id.localeCompare(b.id));
}

const startOf = (trace: JaegerTrace) => Math.min(...trace.spans.map((span) => Number(span.startTime)));

/**
 * The delivery's trace among those Jaeger found with its id: the one that began first (the webhook's own,
 * from the request that created it); the others are named so the page can say they exist. Undefined when
 * Jaeger found none with a span.
 */
export function deliveryTraceFrom(traces: readonly JaegerTrace[], jaegerUiUrl: string): DeliveryTrace | undefined {
  const withSpans = traces.filter((trace) => trace.spans.length > 0).sort((a, b) => startOf(a) - startOf(b));
  const first = withSpans[0];
  if (!first) return undefined;
  return {
    traceId: first.traceID,
    spans: traceSpansOf(first),
    otherTraceIds: withSpans.slice(1).map((trace) => trace.traceID),
    jaegerUrl: `${jaegerUiUrl.replace(/\/+$/, '')}/trace/${encodeURIComponent(first.traceID)}`,
  };
}
