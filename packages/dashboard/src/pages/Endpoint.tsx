import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { hookpost } from '../api/hookpost';
import type { Endpoint as EndpointOut } from '../api/types';
import { EventTypePicker } from '../components/EventTypePicker';
import { StartedTask } from '../components/TaskProgress';
import { ErrorNote, Field, Loading, ShortId, StatusBadge, Time } from '../components/ui';
import { fromExternalId } from '../lib/externalIds';
import { Link, navigate, useTitle } from '../lib/router';

/**
 * One endpoint: its settings, enable/disable, its signing secret (a rotation shows the new one once), custom
 * headers, a test event (send-example), recovery of failed deliveries, and its delivery counts.
 * `base` is where its application's pages are (/ui/applications/… for the operator, /portal for the portal).
 */
export function Endpoint({ appId, endpointId, base }: { appId: string; endpointId: string; base: string }) {
  const endpoint = useQuery({ queryKey: ['endpoint', appId, endpointId], queryFn: () => hookpost.endpoint(appId, endpointId) });
  useTitle(endpoint.data ? `Endpoint ${endpoint.data.url}` : 'Endpoint');
  if (endpoint.isPending) return <Loading what="the endpoint" />;
  if (endpoint.error) return <ErrorNote error={endpoint.error} />;
  const ep = endpoint.data;
  const uuid = fromExternalId('ep', ep.id);
  const operator = base.startsWith('/ui/');
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to={base}>{base.startsWith('/portal') ? 'Endpoints' : 'Application'}</Link> /
        </p>
        <h1>
          {ep.url} <StatusBadge status={ep.disabled ? 'disabled' : 'enabled'} />
          {ep.paused && (
            <>
              {' '}
              <StatusBadge status="paused" />
            </>
          )}
          {ep.ordered && (
            <>
              {' '}
              <StatusBadge status="ordered" />
            </>
          )}
        </h1>
        <p className="muted">
          <ShortId id={ep.id} /> · created <Time at={ep.createdAt} /> · updated <Time at={ep.updatedAt} />
          {uuid && base.startsWith('/ui/') && (
            <>
              {' '}
              · <Link to={`/ui/deliveries?subscription_id=${uuid}`}>Deliveries</Link>
            </>
          )}
          {base.startsWith('/portal') && (
            <>
              {' '}
              · <Link to={`/portal/endpoints/${ep.id}/messages`}>Messages</Link>
            </>
          )}
        </p>
      </header>
      <Stats appId={appId} endpointId={ep.id} paused={ep.paused} />
      <Pause appId={appId} endpoint={ep} />
      {ep.ordered && <OrderedHead appId={appId} endpointId={ep.id} />}
      <Settings appId={appId} endpoint={ep} base={base} />
      <Secret appId={appId} endpointId={ep.id} />
      <Headers appId={appId} endpointId={ep.id} />
      <TestEvent appId={appId} endpointId={ep.id} />
      <Recover appId={appId} endpointId={ep.id} operator={operator} />
      <ReplayMissing appId={appId} endpointId={ep.id} operator={operator} />
      <ReplayFromLog appId={appId} endpointId={ep.id} operator={operator} />
    </>
  );
}

function Stats({ appId, endpointId, paused }: { appId: string; endpointId: string; paused: boolean }) {
  // (faster while paused: the held deliveries are what the page is about, and resuming sends them at once)
  const stats = useQuery({ queryKey: ['endpoint-stats', appId, endpointId], queryFn: () => hookpost.endpointStats(appId, endpointId), refetchInterval: paused ? 2_000 : 10_000 });
  return (
    <section className="card" aria-labelledby="stats-title">
      <h2 id="stats-title">Deliveries</h2>
      {stats.data ? (
        <dl className="stats">
          <div>
            <dt>Succeeded</dt>
            <dd>{stats.data.success}</dd>
          </div>
          <div>
            <dt>Retrying</dt>
            <dd>{stats.data.sending}</dd>
          </div>
          <div>
            <dt>{paused ? 'Pending (held)' : 'Pending'}</dt>
            <dd data-testid="pending-count">{stats.data.pending}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd>{stats.data.fail}</dd>
          </div>
          <div>
            <dt>Cancelled</dt>
            <dd>{stats.data.canceled}</dd>
          </div>
        </dl>
      ) : (
        <ErrorNote error={stats.error} />
      )}
    </section>
  );
}

/**
 * Pause and resume. A paused endpoint still gets its deliveries, but none is attempted: the API reports each as
 * pending (or retrying, if attempts were made before) with no next attempt, and resuming sends them all at once.
 */
function Pause({ appId, endpoint }: { appId: string; endpoint: EndpointOut }) {
  const client = useQueryClient();
  const change = useMutation({
    mutationFn: async () => {
      await (endpoint.paused ? hookpost.resumeEndpoint(appId, endpoint.id) : hookpost.pauseEndpoint(appId, endpoint.id));
      // (both answer 204: the endpoint as it is now is read again)
      return hookpost.endpoint(appId, endpoint.id);
    },
    onSuccess: (next) => {
      client.setQueryData(['endpoint', appId, endpoint.id], next);
      void client.invalidateQueries({ queryKey: ['endpoints', appId] });
      void client.invalidateQueries({ queryKey: ['endpoint-stats', appId, endpoint.id] });
    },
  });
  return (
    <section className={`card${endpoint.paused ? ' paused' : ''}`} aria-labelledby="pause-title">
      <h2 id="pause-title">Deliveries {endpoint.paused ? 'paused' : 'flowing'}</h2>
      <p data-testid="pause-state">
        {endpoint.paused
          ? 'Paused: messages still reach this endpoint, but nothing is sent. Its deliveries are held: they read as pending (or retrying, if attempts were made before) with no next attempt, and are sent, each once, when you resume.'
          : 'Deliveries are sent as messages arrive. Pausing holds them (nothing is attempted, nothing fails) until you resume.'}
      </p>
      <div className="actions">
        <button type="button" className={endpoint.paused ? undefined : 'secondary'} disabled={change.isPending} onClick={() => change.mutate()}>
          {endpoint.paused ? 'Resume endpoint' : 'Pause endpoint'}
        </button>
      </div>
      <ErrorNote error={change.error} />
    </section>
  );
}

/**
 * An ordered endpoint sends one delivery at a time, in message order: a head that keeps failing holds every
 * later one until it succeeds, runs out of attempts, or is skipped here (it ends cancelled; the next goes).
 */
function OrderedHead({ appId, endpointId }: { appId: string; endpointId: string }) {
  const client = useQueryClient();
  const [note, setNote] = useState<string | undefined>();
  const skip = useMutation({
    mutationFn: () => hookpost.skipHead(appId, endpointId),
    onSuccess: () => {
      setNote('The head was skipped: it ends cancelled, and the next delivery goes.');
      void client.invalidateQueries({ queryKey: ['endpoint-stats', appId, endpointId] });
    },
    onError: (error) => setNote(error instanceof ApiError && error.status === 404 ? 'No delivery is waiting at the head.' : undefined),
  });
  return (
    <section className="card" aria-labelledby="ordered-title">
      <h2 id="ordered-title">Delivered in order</h2>
      <p>
        Deliveries go one at a time, in the order their messages were sent. A delivery that keeps failing holds the ones behind it until it
        succeeds, runs out of attempts, or you skip it.
      </p>
      <div className="actions">
        <button
          type="button"
          className="secondary"
          disabled={skip.isPending}
          onClick={() => {
            if (window.confirm('Skip the delivery at the head? It ends cancelled and is not sent again.')) skip.mutate();
          }}
        >
          Skip the head
        </button>
      </div>
      {note && (
        <p role="status" data-testid="skip-head-note">
          {note}
        </p>
      )}
      {!(skip.error instanceof ApiError && skip.error.status === 404) && <ErrorNote error={skip.error} />}
    </section>
  );
}

function Settings({ appId, endpoint, base }: { appId: string; endpoint: EndpointOut; base: string }) {
  const client = useQueryClient();
  const [draft, setDraft] = useState({
    url: endpoint.url,
    description: endpoint.description,
    filterTypes: endpoint.filterTypes ?? [],
    rateLimit: endpoint.rateLimit ? String(endpoint.rateLimit) : '',
    ordered: endpoint.ordered,
  });
  const saved = (next: EndpointOut) => {
    client.setQueryData(['endpoint', appId, endpoint.id], next);
    void client.invalidateQueries({ queryKey: ['endpoints', appId] });
  };
  const save = useMutation({
    mutationFn: () =>
      hookpost.updateEndpoint(appId, endpoint.id, {
        url: draft.url.trim(),
        description: draft.description,
        filterTypes: draft.filterTypes.length ? draft.filterTypes : null,
        rateLimit: draft.rateLimit ? Number(draft.rateLimit) : null,
        ordered: draft.ordered,
      }),
    onSuccess: saved,
  });
  const toggle = useMutation({ mutationFn: () => hookpost.updateEndpoint(appId, endpoint.id, { disabled: !endpoint.disabled }), onSuccess: saved });
  const remove = useMutation({
    mutationFn: () => hookpost.deleteEndpoint(appId, endpoint.id),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['endpoints', appId] });
      navigate(base);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <Field label="URL">{(props) => <input {...props} type="url" required value={draft.url} onChange={(event) => setDraft({ ...draft, url: event.target.value })} />}</Field>
      <Field label="Description">{(props) => <input {...props} value={draft.description} onChange={(event) => setDraft({ ...draft, description: event.target.value })} />}</Field>
      <Field label="Rate limit (deliveries/s)">
        {(props) => <input {...props} type="number" min={1} max={65535} value={draft.rateLimit} onChange={(event) => setDraft({ ...draft, rateLimit: event.target.value })} />}
      </Field>
      <EventTypePicker value={draft.filterTypes} onChange={(filterTypes) => setDraft({ ...draft, filterTypes })} />
      <p className="check">
        <input id="endpoint-ordered" type="checkbox" checked={draft.ordered} onChange={(event) => setDraft({ ...draft, ordered: event.target.checked })} />
        <label htmlFor="endpoint-ordered">Deliver in order (one at a time, in message order)</label>
      </p>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
        <button type="button" className="secondary" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
          {endpoint.disabled ? 'Enable endpoint' : 'Disable endpoint'}
        </button>
        <button
          type="button"
          className="danger"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm('Delete this endpoint? Its waiting retries are cancelled.')) remove.mutate();
          }}
        >
          Delete endpoint
        </button>
      </div>
      {save.isSuccess && <p role="status">Saved.</p>}
      <ErrorNote error={save.error ?? toggle.error ?? remove.error} />
    </form>
  );
}

function Secret({ appId, endpointId }: { appId: string; endpointId: string }) {
  const [shown, setShown] = useState<string>();
  const reveal = useMutation({ mutationFn: () => hookpost.endpointSecret(appId, endpointId), onSuccess: (secret) => setShown(secret.key) });
  const rotate = useMutation({
    mutationFn: async () => {
      await hookpost.rotateSecret(appId, endpointId);
      return hookpost.endpointSecret(appId, endpointId);
    },
    onSuccess: (secret) => setShown(secret.key),
  });
  return (
    <section className="card" aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret</h2>
      <p className="muted">
        Deliveries are signed with it (Standard Webhooks, <code>webhook-signature</code>). After a rotation the old secret keeps signing beside the new one for a while, so receivers can switch over.
      </p>
      {shown ? (
        <div className="secret" role="status">
          <code data-testid="secret">{shown}</code>
          <button type="button" className="secondary" onClick={() => setShown(undefined)}>
            Hide
          </button>
        </div>
      ) : null}
      <div className="actions">
        <button type="button" className="secondary" onClick={() => reveal.mutate()} disabled={reveal.isPending}>
          Reveal secret
        </button>
        <button
          type="button"
          onClick={() => {
            if (window.confirm('Rotate the signing secret?')) rotate.mutate();
          }}
          disabled={rotate.isPending}
        >
          Rotate secret
        </button>
      </div>
      <ErrorNote error={reveal.error ?? rotate.error} />
    </section>
  );
}

function Headers({ appId, endpointId }: { appId: string; endpointId: string }) {
  const client = useQueryClient();
  const headers = useQuery({ queryKey: ['endpoint-headers', appId, endpointId], queryFn: () => hookpost.endpointHeaders(appId, endpointId) });
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const save = useMutation({
    mutationFn: (next: Record<string, string>) => hookpost.replaceHeaders(appId, endpointId, next),
    onSuccess: () => client.invalidateQueries({ queryKey: ['endpoint-headers', appId, endpointId] }),
  });
  const current = headers.data?.headers ?? {};
  const add = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ ...current, [name.trim()]: value });
    setName('');
    setValue('');
  };
  return (
    <section className="card" aria-labelledby="headers-title">
      <h2 id="headers-title">Custom headers</h2>
      {Object.keys(current).length === 0 ? (
        <p className="muted">None: deliveries carry only the signature and content headers.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Header</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span className="visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(current).map(([header, headerValue]) => (
              <tr key={header}>
                <td>
                  <code>{header}</code>
                </td>
                <td>
                  <code>{headerValue}</code>
                </td>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-label={`Remove header ${header}`}
                    onClick={() => save.mutate(Object.fromEntries(Object.entries(current).filter(([key]) => key !== header)))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="inline-form" onSubmit={add}>
        <Field label="Header name">{(props) => <input {...props} required pattern="[!#$%&'*+\-.^_`|~0-9A-Za-z]+" value={name} onChange={(event) => setName(event.target.value)} />}</Field>
        <Field label="Header value">{(props) => <input {...props} required value={value} onChange={(event) => setValue(event.target.value)} />}</Field>
        <button type="submit" disabled={save.isPending}>
          Add header
        </button>
      </form>
      <ErrorNote error={save.error ?? headers.error} />
    </section>
  );
}

function TestEvent({ appId, endpointId }: { appId: string; endpointId: string }) {
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => hookpost.eventTypes() });
  const [eventType, setEventType] = useState('');
  const send = useMutation({ mutationFn: () => hookpost.sendExample(appId, endpointId, eventType) });
  const live = (types.data?.data ?? []).filter((type) => !type.archived);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send.mutate();
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="test-title">
      <h2 id="test-title">Send a test event</h2>
      <Field label="Event type" hint="Sends the type's schema example (or a stand-in) to this endpoint only">
        {(props) => (
          <select {...props} required value={eventType} onChange={(event) => setEventType(event.target.value)}>
            <option value="">Choose…</option>
            {live.map((type) => (
              <option key={type.name} value={type.name}>
                {type.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" disabled={send.isPending || !eventType}>
        Send test event
      </button>
      {send.data && (
        <p role="status">
          Sent <code>{send.data.id}</code>.
        </p>
      )}
      <ErrorNote error={send.error} />
    </form>
  );
}

/** A datetime-local field's value (the browser's local time) for a moment `msAgo` ago. */
const localInput = (msAgo: number) => {
  const at = new Date(Date.now() - msAgo);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const isoOf = (local: string) => (local ? new Date(local).toISOString() : null);

/**
 * Recover, replay-missing and replay from the log: each starts a background task, whose progress shows here
 * as it runs (and, for the operator, on the Tasks page).
 */
function Recover({ appId, endpointId, operator }: { appId: string; endpointId: string; operator: boolean }) {
  const [since, setSince] = useState(() => localInput(3_600_000));
  const recover = useMutation({ mutationFn: () => hookpost.recover(appId, endpointId, new Date(since).toISOString()) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    recover.mutate();
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="recover-title">
      <h2 id="recover-title">Recover failed deliveries</h2>
      <Field label="Failed since" hint="Every message whose delivery here failed since then is sent again">
        {(props) => <input {...props} type="datetime-local" required value={since} onChange={(event) => setSince(event.target.value)} />}
      </Field>
      <button type="submit" disabled={recover.isPending}>
        Recover
      </button>
      {recover.data && <StartedTask taskId={recover.data.id} link={operator} />}
      <ErrorNote error={recover.error} />
    </form>
  );
}

function ReplayMissing({ appId, endpointId, operator }: { appId: string; endpointId: string; operator: boolean }) {
  const [since, setSince] = useState(() => localInput(3_600_000));
  const [until, setUntil] = useState('');
  const replay = useMutation({ mutationFn: () => hookpost.replayMissing(appId, endpointId, { since: isoOf(since)!, until: isoOf(until) }) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    replay.mutate();
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="replay-missing-title">
      <h2 id="replay-missing-title">Replay missing messages</h2>
      <Field label="Missing since" hint="Messages of the window this endpoint takes (its event types and filter) but never had">
        {(props) => <input {...props} type="datetime-local" required value={since} onChange={(event) => setSince(event.target.value)} />}
      </Field>
      <Field label="Missing until" hint="Empty: up to now">
        {(props) => <input {...props} type="datetime-local" value={until} onChange={(event) => setUntil(event.target.value)} />}
      </Field>
      <button type="submit" disabled={replay.isPending}>
        Replay missing
      </button>
      {replay.data && <StartedTask taskId={replay.data.id} link={operator} />}
      <ErrorNote error={replay.error} />
    </form>
  );
}

function ReplayFromLog({ appId, endpointId, operator }: { appId: string; endpointId: string; operator: boolean }) {
  const [since, setSince] = useState(() => localInput(3_600_000));
  const [until, setUntil] = useState('');
  const [eventTypes, setEventTypes] = useState<string[]>([]);
  const [channel, setChannel] = useState('');
  const replay = useMutation({
    mutationFn: () =>
      hookpost.replayFromLog(appId, endpointId, {
        since: isoOf(since)!,
        until: isoOf(until),
        eventTypes: eventTypes.length ? eventTypes : null,
        channel: channel.trim() || null,
      }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    replay.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="replay-log-title">
      <h2 id="replay-log-title">Replay from the log</h2>
      <p className="muted">
        Sends this endpoint every message of the application received in the window, of the chosen event types (none chosen: all) and channel, read from the event log — whether or not it had them
        before, and whatever its own filters.
      </p>
      <Field label="Received since">{(props) => <input {...props} type="datetime-local" required value={since} onChange={(event) => setSince(event.target.value)} />}</Field>
      <Field label="Received until" hint="Empty: up to now">
        {(props) => <input {...props} type="datetime-local" value={until} onChange={(event) => setUntil(event.target.value)} />}
      </Field>
      <Field label="Channel (optional)">{(props) => <input {...props} value={channel} onChange={(event) => setChannel(event.target.value)} />}</Field>
      <EventTypePicker value={eventTypes} onChange={setEventTypes} legend="Event types to replay" />
      <div className="actions">
        <button type="submit" disabled={replay.isPending}>
          Replay from the log
        </button>
      </div>
      {replay.data && <StartedTask taskId={replay.data.id} link={operator} />}
      <ErrorNote error={replay.error} />
    </form>
  );
}
