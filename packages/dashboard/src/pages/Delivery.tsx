import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { hookpost } from '../api/hookpost';
import { svixStatusNames, type Attempt, type DeliveryChange } from '../api/types';
import { TraceWaterfall } from '../components/TraceWaterfall';
import { ErrorNote, Json, Loading, ShortId, StatusBadge, Time } from '../components/ui';
import { toExternalId } from '../lib/externalIds';
import { useLiveDeliveries } from '../lib/liveStream';
import { Link, useTitle } from '../lib/router';

/**
 * One delivery: its payload, every attempt as a timeline (response status, headers and body, duration,
 * error; the next retry when one is due), and resend. Every delivery of the same message to the same endpoint
 * (resends included) is listed under it, and its trace from Jaeger as a waterfall when the gateway knows Jaeger. Live: the page follows the delivery's changes without a reload.
 */
export function DeliveryPage({ deliveryId }: { deliveryId: string }) {
  useTitle('Delivery');
  const client = useQueryClient();
  const delivery = useQuery({ queryKey: ['delivery', deliveryId], queryFn: () => hookpost.delivery(deliveryId) });
  const ids = delivery.data?.message_id && delivery.data.app_id
    ? { app: toExternalId('app', delivery.data.app_id), msg: toExternalId('msg', delivery.data.message_id), ep: toExternalId('ep', delivery.data.subscription_id) }
    : undefined;
  const history = useQuery({ queryKey: ['message-attempts', ids?.msg, ids?.ep], queryFn: () => hookpost.messageAttempts(ids!.app, ids!.msg, ids!.ep), enabled: !!ids });
  const live = useLiveDeliveries(
    useCallback(
      (changes: DeliveryChange[]) => {
        const mine = changes.length === 0 || changes.some((change) => change.id === deliveryId);
        const sameMessage = changes.length === 0 || changes.some((change) => change.message_id !== null && change.message_id === delivery.data?.message_id);
        if (mine) void client.invalidateQueries({ queryKey: ['delivery', deliveryId] });
        if (mine) void client.invalidateQueries({ queryKey: ['delivery-trace', deliveryId] });
        if (sameMessage) void client.invalidateQueries({ queryKey: ['message-attempts'] });
      },
      [client, deliveryId, delivery.data?.message_id],
    ),
  );
  const resend = useMutation({ mutationFn: () => hookpost.resend(ids!.app, ids!.msg, ids!.ep) });

  if (delivery.isPending) return <Loading what="the delivery" />;
  if (delivery.error) return <ErrorNote error={delivery.error} />;
  const d = delivery.data;
  const attempts = d.attempts ?? [];
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to="/ui/deliveries">Deliveries</Link> /
        </p>
        <h1>
          {d.event_type ?? 'Delivery'} <StatusBadge status={d.status} />
        </h1>
        <p className="muted">
          delivery <ShortId id={d.id} />
          {ids && (
            <>
              {' '}
              · message <ShortId id={ids.msg} /> · endpoint{' '}
              <Link to={`/ui/applications/${ids.app}/endpoints/${ids.ep}`}>
                <ShortId id={ids.ep} />
              </Link>
            </>
          )}{' '}
          · created <Time at={d.created_at} /> <span className={`live live-${live}`}>{live === 'live' ? 'Live' : ''}</span>
        </p>
      </header>
      <div className="columns">
        <section className="card" aria-labelledby="attempts-title">
          <h2 id="attempts-title">Attempts</h2>
          <ol className="timeline" aria-label="Attempts, first to last">
            {attempts.map((attempt) => (
              <AttemptItem key={attempt.attempt_number} attempt={attempt} />
            ))}
            {d.next_attempt_at && (d.status === 'retrying' || d.status === 'pending') && (
              <li className="timeline-item next">
                <span className="badge badge-pending">next</span> Next attempt due <Time at={d.next_attempt_at} />
              </li>
            )}
            {d.held_since && (d.status === 'retrying' || d.status === 'pending') && (
              <li className="timeline-item next" data-testid="held">
                <span className="badge badge-held">held</span> Held since <Time at={d.held_since} />: its endpoint is paused. It is sent when the endpoint is resumed.
              </li>
            )}
            {attempts.length === 0 && !d.next_attempt_at && !d.held_since && <li className="muted">No attempt yet.</li>}
          </ol>
          {d.last_error && <p className="muted">Last error: {d.last_error}</p>}
          <div className="actions">
            {ids ? (
              <button type="button" onClick={() => resend.mutate()} disabled={resend.isPending}>
                Resend
              </button>
            ) : (
              <p className="muted">Deliveries ingested through the seed API (POST /ingest) have no message to resend.</p>
            )}
            {resend.isSuccess && <p role="status">Resend requested: the new delivery appears below.</p>}
          </div>
          <ErrorNote error={resend.error} />
        </section>
        <section className="card" aria-labelledby="payload-title">
          <h2 id="payload-title">Payload</h2>
          <Json value={d.payload} label="Payload" />
        </section>
      </div>
      <TraceWaterfall delivery={d} />
      {ids && (
        <section className="card" aria-labelledby="history-title">
          <h2 id="history-title">Every attempt of this message at this endpoint</h2>
          {history.data ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Attempt</th>
                  <th scope="col">Result</th>
                  <th scope="col">Status code</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">At</th>
                </tr>
              </thead>
              <tbody>
                {history.data.data.map((attempt) => (
                  <tr key={attempt.id} data-attempt-status={svixStatusNames[attempt.status]}>
                    <td>
                      <ShortId id={attempt.id} />
                    </td>
                    <td>
                      <StatusBadge status={svixStatusNames[attempt.status] ?? String(attempt.status)} />
                    </td>
                    <td>{attempt.responseStatusCode || '—'}</td>
                    <td>{attempt.responseDurationMs} ms</td>
                    <td>{attempt.triggerType === 1 ? 'manual' : 'scheduled'}</td>
                    <td>
                      <Time at={attempt.timestamp} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <ErrorNote error={history.error} />
          )}
        </section>
      )}
    </>
  );
}

function AttemptItem({ attempt }: { attempt: Attempt }) {
  const ok = attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
  return (
    <li className={`timeline-item ${ok ? 'ok' : 'bad'}`}>
      <details>
        <summary>
          <span className={`badge badge-${ok ? 'succeeded' : 'failed'}`}>#{attempt.attempt_number}</span> {attempt.status_code ?? 'no response'} · {attempt.duration_ms} ms ·{' '}
          <Time at={attempt.started_at} />
          {attempt.error && <span className="error-text"> · {attempt.error}</span>}
        </summary>
        <h3>Response headers</h3>
        <Json value={attempt.response_headers ?? {}} label={`Response headers of attempt ${attempt.attempt_number}`} />
        <h3>Response body</h3>
        <Json value={attempt.response_body ?? ''} label={`Response body of attempt ${attempt.attempt_number}`} />
      </details>
    </li>
  );
}
