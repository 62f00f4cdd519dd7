import type { TraceSpan } from '../api/types';

/**
 * The layout of a trace's waterfall, apart from React so it is tested alone: one row per span by start time,
 * its depth under its parents (for the indent), its bar's offset and width as fractions of the whole trace, and,
 * for the dispatcher's attempt spans, the attempt's outcome as the span recorded it.
 */

export type AttemptOutcome = 'succeeded' | 'failed' | 'no response' | 'deferred' | 'skipped' | 'error';

export type WaterfallRow = {
  span: TraceSpan;
  /** 0 for a root; a span whose parent is not in the trace counts as a root. */
  depth: number;
  /** Where the bar begins and how long it is, as fractions (0–1) of the trace's whole time. */
  offset: number;
  width: number;
  /** Milliseconds from the trace's first span to this one's start, and its duration. */
  startMs: number;
  durationMs: number;
  /** Set on the dispatcher's attempt spans only. */
  attempt?: { number: number | null; outcome: AttemptOutcome; statusCode: number | null };
};

export type Waterfall = { rows: WaterfallRow[]; totalMs: number; services: string[] };

/** A bar never thinner than this fraction, so a span of microseconds can still be seen beside one of seconds. */
export const MIN_WIDTH = 0.004;

const isAttempt = (span: TraceSpan) => span.operation === 'webhook attempt' || typeof span.attributes['hookpost.attempt_number'] === 'number';

/** How an attempt span ended, from what the dispatcher recorded on it (services/dispatcher/src/dispatcher.ts). */
export function attemptOutcome(span: TraceSpan): AttemptOutcome {
  const status = span.attributes['http.response.status_code'];
  if (span.attributes['hookpost.skipped'] !== undefined) return 'skipped';
  if (span.attributes['hookpost.deferred_ms'] !== undefined) return 'deferred';
  if (typeof status === 'number') return status >= 200 && status < 300 ? 'succeeded' : 'failed';
  if (span.attributes.error === true || span.attributes['otel.status_code'] === 'ERROR') return 'error';
  return 'no response';
}

/**
 * The Express instrumentation's spans: one per middleware, router and handler a request passes, tens per request,
 * all inside the request's own span. The page hides them unless asked (`hidden` in the layout).
 */
export const isFrameworkSpan = (span: TraceSpan): boolean => /^(middleware|router|request handler)( - |$)/.test(span.operation);

export function layoutWaterfall(all: readonly TraceSpan[], options: { hide?: (span: TraceSpan) => boolean } = {}): Waterfall {
  const hide = options.hide ?? (() => false);
  const spans = all.filter((span) => !hide(span));
  if (spans.length === 0) return { rows: [], totalMs: 0, services: [] };
  const byId = new Map(all.map((span) => [span.id, span]));
  const depthOf = new Map<string, number>();
  const depth = (span: TraceSpan): number => {
    const known = depthOf.get(span.id);
    if (known !== undefined) return known;
    // (walked up, guarding against a cycle a broken exporter could make)
    let level = 0;
    const seen = new Set([span.id]);
    // (a hidden span's children are drawn under its nearest shown ancestor)
    for (let parent = span.parentId ? byId.get(span.parentId) : undefined; parent && !seen.has(parent.id); parent = parent.parentId ? byId.get(parent.parentId) : undefined) {
      seen.add(parent.id);
      if (!hide(parent)) level++;
    }
    depthOf.set(span.id, level);
    return level;
  };
  const start = Math.min(...spans.map((span) => span.startUs));
  const end = Math.max(...spans.map((span) => span.startUs + Math.max(0, span.durationUs)));
  const total = Math.max(1, end - start);
  const rows = [...spans]
    .sort((a, b) => a.startUs - b.startUs || depth(a) - depth(b) || a.id.localeCompare(b.id))
    .map((span): WaterfallRow => {
      const width = Math.min(1, Math.max(MIN_WIDTH, Math.max(0, span.durationUs) / total));
      // (a span too short to see at the very end is drawn ending there, not past the edge)
      const offset = Math.min((span.startUs - start) / total, 1 - width);
      const row: WaterfallRow = { span, depth: depth(span), offset, width, startMs: (span.startUs - start) / 1000, durationMs: Math.max(0, span.durationUs) / 1000 };
      if (isAttempt(span)) {
        const number = span.attributes['hookpost.attempt_number'];
        const status = span.attributes['http.response.status_code'];
        row.attempt = { number: typeof number === 'number' ? number : null, outcome: attemptOutcome(span), statusCode: typeof status === 'number' ? status : null };
      }
      return row;
    });
  return { rows, totalMs: total / 1000, services: [...new Set(spans.map((span) => span.service))].sort() };
}

/** A time in milliseconds as the table shows it: µs under 1 ms, 0.1 ms under 100 ms, whole ms, then seconds. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
