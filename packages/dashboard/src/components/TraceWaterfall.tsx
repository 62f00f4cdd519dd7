import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { ApiError } from '../api/client';
import { hookpost } from '../api/hookpost';
import type { Delivery } from '../api/types';
import { formatMs, isFrameworkSpan, layoutWaterfall, type WaterfallRow } from '../lib/waterfall';
import { ErrorNote, Loading } from './ui';

const reasonOf = (error: unknown) => (error instanceof ApiError && error.body && typeof error.body === 'object' ? (error.body as { reason?: unknown }).reason : undefined);

/** While the delivery may still gain spans: not ended yet, or changed within the last 30 s (spans are exported in batches). */
function mayStillChange(delivery: Delivery, now: number): boolean {
  if (delivery.status === 'pending' || delivery.status === 'retrying') return true;
  const changed = Date.parse(delivery.updated_at);
  return !Number.isFinite(changed) || now - changed < 30_000;
}

/**
 * The delivery's trace from Jaeger (GET /ui/api/deliveries/{id}/trace), drawn as a waterfall: a table, one row per
 * span by start time, with its service and operation indented under its parent, its start and duration in words,
 * and a bar placed by time (hidden from screen readers: the words say the same). The attempt spans carry their outcome.
 */
export function TraceWaterfall({ delivery }: { delivery: Delivery }) {
  const trace = useQuery({
    queryKey: ['delivery-trace', delivery.id],
    queryFn: () => hookpost.deliveryTrace(delivery.id),
    retry: false,
    refetchInterval: (query) => {
      const reason = reasonOf(query.state.error);
      if (reason === 'tracing-not-configured') return false;
      // (an old delivery's trace is asked for once: Jaeger keeps its latest traces only, and the button asks again)
      return mayStillChange(delivery, Date.now()) ? 3_000 : false;
    },
  });
  const reason = reasonOf(trace.error);
  return (
    <section className="card" aria-labelledby="trace-title">
      <h2 id="trace-title">Trace</h2>
      {trace.isPending ? (
        <Loading what="the trace" />
      ) : reason === 'tracing-not-configured' ? (
        <p data-testid="tracing-off">
          Tracing is not configured. Run Jaeger and tell the gateway where its query API is: <code>HOOKPOST_JAEGER=1 npm start</code> does both, or set{' '}
          <code>HOOKPOST_JAEGER_URL</code> (for example <code>http://127.0.0.1:16686</code>) on the gateway and <code>OTEL_EXPORTER_OTLP_ENDPOINT</code> on the three services.
        </p>
      ) : reason === 'no-trace' && !trace.data ? (
        <div className="actions">
          <p className="muted" role="status">
            Jaeger holds no trace of this delivery: not yet (spans arrive seconds after the work), or no longer (Jaeger keeps its latest traces only).
          </p>
          <button type="button" className="secondary" onClick={() => void trace.refetch()} disabled={trace.isFetching}>
            Ask Jaeger again
          </button>
        </div>
      ) : trace.data ? (
        <TraceTable trace={trace.data} />
      ) : (
        <ErrorNote error={trace.error} />
      )}
      {trace.data && trace.error && reason !== 'no-trace' && <ErrorNote error={trace.error} />}
    </section>
  );
}

function outcomeLabel(row: WaterfallRow): string {
  const attempt = row.attempt!;
  const status = attempt.statusCode !== null ? ` (${attempt.statusCode})` : '';
  return `attempt ${attempt.number ?? '?'}: ${attempt.outcome}${status}`;
}

const outcomeClass = (row: WaterfallRow) => {
  switch (row.attempt!.outcome) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
    case 'error':
    case 'no response':
      return 'failed';
    case 'deferred':
    case 'skipped':
      return 'pending';
    default: {
      const unknown: never = row.attempt!.outcome;
      return String(unknown);
    }
  }
};

function TraceTable({ trace }: { trace: { traceId: string; spans: Parameters<typeof layoutWaterfall>[0]; otherTraceIds: string[]; jaegerUrl: string } }) {
  const [showFramework, setShowFramework] = useState(false);
  const toggleId = useId();
  const framework = trace.spans.filter(isFrameworkSpan).length;
  const waterfall = layoutWaterfall(trace.spans, { hide: showFramework ? undefined : isFrameworkSpan });
  return (
    <>
      <p className="muted small">
        Trace <code>{trace.traceId}</code>: {trace.spans.length} spans from {waterfall.services.join(', ')} over {formatMs(waterfall.totalMs)}.{' '}
        <a href={trace.jaegerUrl} target="_blank" rel="noreferrer noopener">
          Open in Jaeger
        </a>{' '}
        (needs a Jaeger with its UI; the one <code>npm start</code> builds has none).
        {trace.otherTraceIds.length > 0 && <> Other traces with this delivery: {trace.otherTraceIds.map((id) => <code key={id}>{id} </code>)}</>}
      </p>
      {framework > 0 && (
        <p className="check">
          <input id={toggleId} type="checkbox" checked={showFramework} onChange={(event) => setShowFramework(event.target.checked)} />
          <label htmlFor={toggleId}>Show the {framework} Express middleware, router and handler spans</label>
        </p>
      )}
      <div className="waterfall-scroll">
        <table className="waterfall" aria-label={`Spans of trace ${trace.traceId}, by start time`}>
          <thead>
            <tr>
              <th scope="col">Span</th>
              <th scope="col">Start</th>
              <th scope="col">Duration</th>
              <th scope="col" className="waterfall-time">
                Timeline
              </th>
            </tr>
          </thead>
          <tbody>
            {waterfall.rows.map((row) => (
              <tr key={row.span.id} data-service={row.span.service} data-operation={row.span.operation} data-outcome={row.attempt?.outcome}>
                <td className="waterfall-name">
                  <span className="waterfall-indent" style={{ paddingLeft: `${row.depth * 0.9}rem` }}>
                    <span className="visually-hidden">{row.depth > 0 ? `level ${row.depth + 1}: ` : ''}</span>
                    <span className={`service service-${serviceKey(row.span.service)}`}>{row.span.service.replace(/^hookpost-/, '')}</span> {row.span.operation}
                    {row.attempt && (
                      <>
                        {' '}
                        <span className={`badge badge-${outcomeClass(row)}`}>{outcomeLabel(row)}</span>
                      </>
                    )}
                  </span>
                </td>
                <td className="num">+{formatMs(row.startMs)}</td>
                <td className="num">{formatMs(row.durationMs)}</td>
                <td className="waterfall-time" aria-hidden="true">
                  <span className="waterfall-track">
                    <span
                      className={`waterfall-bar service-bg-${serviceKey(row.span.service)}${row.attempt ? ` bar-${outcomeClass(row)}` : ''}`}
                      style={{ left: `${(row.offset * 100).toFixed(3)}%`, width: `${(row.width * 100).toFixed(3)}%` }}
                    />
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** gateway, dispatcher, projector get their own colour; any other service the neutral one. */
function serviceKey(service: string): string {
  const name = service.replace(/^hookpost-/, '');
  return ['gateway', 'dispatcher', 'projector'].includes(name) ? name : 'other';
}
