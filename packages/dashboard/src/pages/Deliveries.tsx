import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { hookpost } from '../api/hookpost';
import { deliveryStatuses, type Delivery, type DeliveryChange, type Page } from '../api/types';
import { Empty, ErrorNote, Field, Loading, ShortId, StatusBadge, Time } from '../components/ui';
import { apiSearch, filtersFrom, mayBelong, searchOf, type DeliveryFilters } from '../lib/deliveryFilters';
import { fromExternalId, toExternalId } from '../lib/externalIds';
import { useLiveDeliveries } from '../lib/liveStream';
import { Link, navigate, useLocation, useTitle } from '../lib/router';

/**
 * Every delivery (newest first), filtered by application, endpoint, event type, status, time and payload
 * (a JSON object the payload contains), 50 a page by cursor, so a list of any length stays one query away.
 * Live: a status change of a listed delivery is applied in place; a new delivery that may belong on the first
 * page has the page asked for again (at most every 300 ms).
 */
export function Deliveries() {
  useTitle('Deliveries');
  const { search } = useLocation();
  const filters = filtersFrom(search);
  const key = ['deliveries', filters] as const;
  const client = useQueryClient();
  const deliveries = useQuery({ queryKey: key, queryFn: () => hookpost.deliveries(apiSearch(filters)), placeholderData: keepPreviousData });
  const refetchSoon = useThrottled(() => void client.invalidateQueries({ queryKey: ['deliveries'] }), 300);

  const live = useLiveDeliveries(
    useCallback(
      (changes: DeliveryChange[]) => {
        if (changes.length === 0) return refetchSoon();
        let missing = false;
        client.setQueriesData<Page<Delivery>>({ queryKey: ['deliveries'] }, (page) => {
          if (!page) return page;
          const byId = new Map(changes.map((change) => [change.id, change]));
          return { ...page, data: page.data.map((row) => (byId.has(row.id) ? { ...row, ...byId.get(row.id)! } : row)) };
        });
        const listed = new Set(deliveries.data?.data.map((row) => row.id));
        for (const change of changes) {
          if (!listed.has(change.id) && mayBelong(change, filters, Date.now())) missing = true;
          // (a status filter the change no longer meets: the page is asked again so the row leaves)
          if (listed.has(change.id) && filters.status && change.status !== filters.status) missing = true;
          // (the live row does not say whether it is held: a held row that changed is asked for again)
          if (listed.has(change.id) && deliveries.data?.data.some((row) => row.id === change.id && row.held_since)) missing = true;
        }
        if (missing) refetchSoon();
        for (const change of changes) client.setQueryData<Delivery>(['delivery', change.id], (old) => (old ? { ...old, ...change } : old));
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [deliveries.data, searchOf(filters)],
    ),
  );

  return (
    <>
      <header className="page-header">
        <h1>Deliveries</h1>
        <p className="muted">
          Every message sent to every endpoint, newest first.{' '}
          <span className={`live live-${live}`} role="status" aria-live="polite">
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline, reconnecting'}
          </span>
        </p>
      </header>
      <FilterForm filters={filters} />
      <section className="card" aria-labelledby="deliveries-title">
        <h2 id="deliveries-title" className="visually-hidden">
          Matching deliveries
        </h2>
        {deliveries.isPending ? (
          <Loading what="deliveries" />
        ) : deliveries.error ? (
          <ErrorNote error={deliveries.error} />
        ) : deliveries.data.data.length === 0 ? (
          <Empty>No delivery matches.</Empty>
        ) : (
          <table className="deliveries">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event type</th>
                <th scope="col">Delivery</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last response</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.data.map((delivery) => (
                <tr key={delivery.id} data-delivery={delivery.id} data-message={delivery.message_id ? toExternalId('msg', delivery.message_id) : undefined} data-status={delivery.status}>
                  <td>
                    <StatusBadge status={delivery.status} />
                    {delivery.held_since && (delivery.status === 'pending' || delivery.status === 'retrying') && (
                      <>
                        {' '}
                        <span className="badge badge-held" title="Its endpoint is paused: sent when the endpoint is resumed">
                          held
                        </span>
                      </>
                    )}
                  </td>
                  <td>{delivery.event_type ?? <span className="muted">—</span>}</td>
                  <td>
                    <Link to={`/ui/deliveries/${delivery.id}`}>
                      <ShortId id={delivery.message_id ? toExternalId('msg', delivery.message_id) : delivery.id} />
                    </Link>
                  </td>
                  <td>
                    <ShortId id={toExternalId('ep', delivery.subscription_id)} />
                  </td>
                  <td>{delivery.attempt_count}</td>
                  <td>{delivery.last_status_code ?? (delivery.last_error ? <span title={delivery.last_error}>error</span> : <span className="muted">—</span>)}</td>
                  <td>
                    <Time at={delivery.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav className="pager" aria-label="Pages">
          {filters.cursor && (
            <button type="button" className="secondary" onClick={() => navigate(`/ui/deliveries${searchOf({ ...filters, cursor: undefined })}`)}>
              Newest
            </button>
          )}
          {deliveries.data?.next_cursor && (
            <button type="button" className="secondary" onClick={() => navigate(`/ui/deliveries${searchOf({ ...filters, cursor: deliveries.data!.next_cursor! })}`)}>
              Older
            </button>
          )}
        </nav>
      </section>
    </>
  );
}

function FilterForm({ filters }: { filters: DeliveryFilters }) {
  const [draft, setDraft] = useState<DeliveryFilters>(filters);
  const [invalid, setInvalid] = useState<string>();
  useEffect(() => setDraft(filters), [searchOf(filters)]); // eslint-disable-line react-hooks/exhaustive-deps
  const apps = useQuery({ queryKey: ['applications', 'all'], queryFn: () => hookpost.applications(null, 250) });
  const appExternal = draft.app_id ? toExternalId('app', draft.app_id) : undefined;
  const endpoints = useQuery({ queryKey: ['endpoints', appExternal], queryFn: () => hookpost.endpoints(appExternal!), enabled: !!appExternal });
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => hookpost.eventTypes() });
  const set = (name: keyof DeliveryFilters) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value || undefined, cursor: undefined });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.payload_contains) {
      try {
        const parsed: unknown = JSON.parse(draft.payload_contains);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
      } catch {
        return setInvalid('Payload contains: write a JSON object, such as {"customer": "c_1"}.');
      }
    }
    setInvalid(undefined);
    navigate(`/ui/deliveries${searchOf({ ...draft, cursor: undefined })}`);
  };
  return (
    <form className="card filters" onSubmit={submit} aria-label="Filter deliveries">
      <Field label="Application">
        {(props) => (
          <select {...props} value={draft.app_id ?? ''} onChange={(event) => setDraft({ ...draft, app_id: event.target.value || undefined, subscription_id: undefined })}>
            <option value="">All</option>
            {(apps.data?.data ?? []).map((app) => (
              <option key={app.id} value={fromExternalId('app', app.id)}>
                {app.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Endpoint">
        {(props) => (
          <select {...props} value={draft.subscription_id ?? ''} onChange={set('subscription_id')} disabled={!appExternal && !draft.subscription_id}>
            <option value="">All</option>
            {draft.subscription_id && !endpoints.data?.data.some((ep) => fromExternalId('ep', ep.id) === draft.subscription_id) && (
              <option value={draft.subscription_id}>{toExternalId('ep', draft.subscription_id)}</option>
            )}
            {(endpoints.data?.data ?? []).map((ep) => (
              <option key={ep.id} value={fromExternalId('ep', ep.id)}>
                {ep.url}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Event type">
        {(props) => (
          <select {...props} value={draft.event_type ?? ''} onChange={set('event_type')}>
            <option value="">All</option>
            {(types.data?.data ?? []).map((type) => (
              <option key={type.name} value={type.name}>
                {type.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Status">
        {(props) => (
          <select {...props} value={draft.status ?? ''} onChange={set('status')}>
            <option value="">All</option>
            {deliveryStatuses.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Created after">{(props) => <input {...props} type="datetime-local" value={draft.created_after ?? ''} onChange={set('created_after')} />}</Field>
      <Field label="Created before">{(props) => <input {...props} type="datetime-local" value={draft.created_before ?? ''} onChange={set('created_before')} />}</Field>
      <Field label="Payload contains (JSON)">
        {(props) => <input {...props} className="mono" placeholder='{"customer": "c_1"}' value={draft.payload_contains ?? ''} onChange={set('payload_contains')} />}
      </Field>
      <div className="actions">
        <button type="submit">Apply filters</button>
        <button type="button" className="secondary" onClick={() => navigate('/ui/deliveries')}>
          Clear
        </button>
      </div>
      {invalid && (
        <p className="error" role="alert">
          {invalid}
        </p>
      )}
    </form>
  );
}

/** `run` at most once per `ms`, the last call never dropped. */
function useThrottled(run: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(run);
  latest.current = run;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  }, [ms]);
}
