import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useMemo, useRef, useState } from 'react';
import { api } from '../api/client';
import { TimeChart } from '../components/TimeChart';
import { ErrorNote, Loading } from '../components/ui';
import { toExternalId } from '../lib/externalIds';
import { useLiveDeliveries } from '../lib/liveStream';
import { Link, useTitle } from '../lib/router';

type OverviewData = {
  window: 'hour' | 'day';
  bucketSeconds: number;
  deliveries: { at: string; succeeded: number; failed: number; retrying: number; pending: number; cancelled: number }[];
  attempts: { at: string; succeeded: number; failed: number; p50_ms: number | null; p99_ms: number | null }[];
  totals: { succeeded: number; failed: number; retrying: number; pending: number; cancelled: number; success_rate: number | null; p50_ms: number | null; p99_ms: number | null };
  retry_backlog: { retrying: number; oldest_next_attempt_at: string | null };
  failing_endpoints: { subscription_id: string; app_id: string | null; target_url: string | null; failed: number; retrying: number }[];
  health: Record<string, boolean>;
};

/** Every bucket of the window, so a quiet minute shows as zero, not as a gap the line jumps over. */
export function bucketTimes(window: { bucketSeconds: number; seconds: number }, now: number): number[] {
  const last = Math.floor(now / 1000 / window.bucketSeconds) * window.bucketSeconds;
  const times: number[] = [];
  for (let at = last - window.seconds + window.bucketSeconds; at <= last; at += window.bucketSeconds) times.push(at);
  return times;
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)} %`);
const ms = (value: number | null) => (value === null ? '—' : `${value} ms`);

/** Deliveries by outcome, success rate, response times, the retry backlog, the endpoints failing most, health. */
export function Overview() {
  useTitle('Overview');
  const [window, setWindow] = useState<'hour' | 'day'>('hour');
  const client = useQueryClient();
  const overview = useQuery({ queryKey: ['overview', window], queryFn: () => api<OverviewData>('GET', `/ui/api/overview?window=${window}`), refetchInterval: 15_000 });
  const last = useRef(0);
  useLiveDeliveries(
    useCallback(() => {
      // (new figures at most every 2 s, however busy it is)
      if (Date.now() - last.current < 2_000) return;
      last.current = Date.now();
      void client.invalidateQueries({ queryKey: ['overview'] });
    }, [client]),
  );
  const data = overview.data;
  const charts = useMemo(() => {
    if (!data) return undefined;
    const times = bucketTimes({ bucketSeconds: data.bucketSeconds, seconds: data.window === 'hour' ? 3_600 : 86_400 }, Date.now());
    const at = <T extends { at: string }>(rows: T[]) => new Map(rows.map((row) => [Math.floor(Date.parse(row.at) / 1000), row]));
    const deliveries = at(data.deliveries);
    const attempts = at(data.attempts);
    const of = <T,>(rows: Map<number, T>, pick: (row: T) => number | null, empty: number | null) => times.map((time) => (rows.has(time) ? pick(rows.get(time)!) : empty));
    return {
      times,
      outcomes: [
        { label: 'succeeded', color: '#1a7f37', values: of(deliveries, (row) => row.succeeded, 0) },
        { label: 'failed', color: '#b42318', values: of(deliveries, (row) => row.failed, 0) },
        { label: 'retrying', color: '#8a5a00', values: of(deliveries, (row) => row.retrying + row.pending, 0) },
      ],
      latency: [
        { label: 'p50', color: '#2f5bd3', values: of(attempts, (row) => row.p50_ms, null) },
        { label: 'p99', color: '#7a3fb8', values: of(attempts, (row) => row.p99_ms, null) },
      ],
    };
  }, [data]);
  const per = data?.window === 'day' ? '15 minutes' : 'minute';
  return (
    <>
      <header className="page-header toolbar">
        <div>
          <h1>Overview</h1>
          <p className="muted">What happened to webhooks over the last {window}.</p>
        </div>
        <fieldset className="segmented">
          <legend className="visually-hidden">Time window</legend>
          {(['hour', 'day'] as const).map((choice) => (
            <label key={choice} className={window === choice ? 'chosen' : ''}>
              <input type="radio" name="window" value={choice} checked={window === choice} onChange={() => setWindow(choice)} />
              Last {choice}
            </label>
          ))}
        </fieldset>
      </header>
      {!data ? (
        overview.error ? <ErrorNote error={overview.error} /> : <Loading what="the overview" />
      ) : (
        <>
          <section className="card" aria-labelledby="figures-title">
            <h2 id="figures-title" className="visually-hidden">
              Figures
            </h2>
            <dl className="stats">
              <div>
                <dt>Success rate</dt>
                <dd data-testid="success-rate">{percent(data.totals.success_rate)}</dd>
              </div>
              <div>
                <dt>Succeeded</dt>
                <dd>{data.totals.succeeded}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd>{data.totals.failed}</dd>
              </div>
              <div>
                <dt>Response time p50 / p99</dt>
                <dd>
                  {ms(data.totals.p50_ms)} / {ms(data.totals.p99_ms)}
                </dd>
              </div>
              <div>
                <dt>Retry backlog</dt>
                <dd>
                  <Link to="/ui/deliveries?status=retrying">{data.retry_backlog.retrying}</Link>
                </dd>
              </div>
            </dl>
          </section>
          {charts && (
            <div className="charts">
              <section className="card">
                <TimeChart
                  title={`Deliveries per ${per} by outcome`}
                  unit="deliveries"
                  times={charts.times}
                  series={charts.outcomes}
                  summary={`${data.totals.succeeded} succeeded, ${data.totals.failed} failed, ${data.totals.retrying + data.totals.pending} waiting`}
                />
              </section>
              <section className="card">
                <TimeChart
                  title="Endpoint response time (request sent to response read)"
                  unit="ms"
                  times={charts.times}
                  series={charts.latency}
                  summary={`p50 ${ms(data.totals.p50_ms)}, p99 ${ms(data.totals.p99_ms)}`}
                />
              </section>
            </div>
          )}
          <div className="columns">
            <section className="card" aria-labelledby="failing-title">
              <h2 id="failing-title">Endpoints failing most</h2>
              {data.failing_endpoints.length === 0 ? (
                <p className="muted">No failed or retrying delivery in this window.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Endpoint</th>
                      <th scope="col">Failed</th>
                      <th scope="col">Retrying</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.failing_endpoints.map((endpoint) => (
                      <tr key={endpoint.subscription_id}>
                        <td>
                          {endpoint.app_id ? (
                            <Link to={`/ui/applications/${toExternalId('app', endpoint.app_id)}/endpoints/${toExternalId('ep', endpoint.subscription_id)}`}>{endpoint.target_url ?? endpoint.subscription_id}</Link>
                          ) : (
                            (endpoint.target_url ?? endpoint.subscription_id)
                          )}
                        </td>
                        <td>{endpoint.failed}</td>
                        <td>{endpoint.retrying}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section className="card" aria-labelledby="health-title">
              <h2 id="health-title">Health</h2>
              <ul className="health">
                {Object.entries(data.health).map(([name, up]) => (
                  <li key={name}>
                    <span className={`badge badge-${up ? 'succeeded' : 'failed'}`}>{up ? 'up' : 'down'}</span> {name}
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </>
      )}
    </>
  );
}
