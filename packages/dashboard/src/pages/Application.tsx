import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { hookpost } from '../api/hookpost';
import { EventTypePicker } from '../components/EventTypePicker';
import { Empty, ErrorNote, Field, Loading, ShortId, StatusBadge, Time } from '../components/ui';
import { fromExternalId } from '../lib/externalIds';
import { Link, navigate, useTitle } from '../lib/router';

/** One application: its settings, its endpoints, a form for a new endpoint and one to send a message. */
export function Application({ appId }: { appId: string }) {
  const app = useQuery({ queryKey: ['application', appId], queryFn: () => hookpost.application(appId) });
  useTitle(app.data ? `Application ${app.data.name}` : 'Application');
  if (app.isPending) return <Loading what="the application" />;
  if (app.error) return <ErrorNote error={app.error} />;
  const uuid = fromExternalId('app', app.data.id);
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to="/ui/applications">Applications</Link> /
        </p>
        <h1>{app.data.name}</h1>
        <p className="muted">
          <ShortId id={app.data.id} /> {app.data.uid && <>· uid {app.data.uid}</>} · created <Time at={app.data.createdAt} />
          {uuid && (
            <>
              {' '}
              · <Link to={`/ui/deliveries?app_id=${uuid}`}>Deliveries</Link>
            </>
          )}
        </p>
      </header>
      <Endpoints appId={app.data.id} base={`/ui/applications/${app.data.id}`} />
      <CreateEndpoint appId={app.data.id} base={`/ui/applications/${app.data.id}`} />
      <SendMessage appId={app.data.id} />
      <EditApplication appId={app.data.id} name={app.data.name} uid={app.data.uid} rateLimit={app.data.rateLimit} />
    </>
  );
}

/** `base`: where the application's pages are (the operator's /ui/applications/…, or the portal's /portal). */
export function Endpoints({ appId, base }: { appId: string; base: string }) {
  const endpoints = useQuery({ queryKey: ['endpoints', appId], queryFn: () => hookpost.endpoints(appId) });
  return (
    <section className="card" aria-labelledby="endpoints-title">
      <h2 id="endpoints-title">Endpoints</h2>
      {endpoints.isPending ? (
        <Loading what="endpoints" />
      ) : endpoints.error ? (
        <ErrorNote error={endpoints.error} />
      ) : endpoints.data.data.length === 0 ? (
        <Empty>No endpoint yet: add one below.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">State</th>
              <th scope="col">Event types</th>
              <th scope="col">Rate limit</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data.data.map((endpoint) => (
              <tr key={endpoint.id}>
                <td>
                  <Link to={`${base}/endpoints/${endpoint.id}`}>{endpoint.url}</Link>
                  {endpoint.description && <div className="muted small">{endpoint.description}</div>}
                </td>
                <td>
                  <StatusBadge status={endpoint.disabled ? 'disabled' : 'enabled'} />
                  {endpoint.paused && (
                    <>
                      {' '}
                      <StatusBadge status="paused" />
                    </>
                  )}
                </td>
                <td>{endpoint.filterTypes?.length ? endpoint.filterTypes.join(', ') : <span className="muted">all</span>}</td>
                <td>{endpoint.rateLimit ? `${endpoint.rateLimit}/s` : <span className="muted">none</span>}</td>
                <td>
                  <Time at={endpoint.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function CreateEndpoint({ appId, base }: { appId: string; base: string }) {
  const client = useQueryClient();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [filterTypes, setFilterTypes] = useState<string[]>([]);
  const [rateLimit, setRateLimit] = useState('');
  const create = useMutation({
    mutationFn: () =>
      hookpost.createEndpoint(appId, {
        url: url.trim(),
        description: description.trim(),
        filterTypes: filterTypes.length ? filterTypes : null,
        rateLimit: rateLimit ? Number(rateLimit) : null,
      }),
    onSuccess: async (endpoint) => {
      await client.invalidateQueries({ queryKey: ['endpoints', appId] });
      navigate(`${base}/endpoints/${endpoint.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="create-endpoint-title">
      <h2 id="create-endpoint-title">New endpoint</h2>
      <Field label="URL" hint="Where deliveries are POSTed">
        {(props) => <input {...props} type="url" required placeholder="https://example.com/webhooks" value={url} onChange={(event) => setUrl(event.target.value)} />}
      </Field>
      <Field label="Description">{(props) => <input {...props} maxLength={4096} value={description} onChange={(event) => setDescription(event.target.value)} />}</Field>
      <Field label="Rate limit (deliveries/s, optional)">
        {(props) => <input {...props} type="number" min={1} max={65535} value={rateLimit} onChange={(event) => setRateLimit(event.target.value)} />}
      </Field>
      <EventTypePicker value={filterTypes} onChange={setFilterTypes} />
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Add endpoint
        </button>
      </div>
      <ErrorNote error={create.error} />
    </form>
  );
}

function SendMessage({ appId }: { appId: string }) {
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => hookpost.eventTypes() });
  const [eventType, setEventType] = useState('');
  const [payload, setPayload] = useState('{\n  "hello": "world"\n}');
  const [sent, setSent] = useState<string>();
  const send = useMutation({
    mutationFn: async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload);
      } catch {
        throw new Error('The payload is not valid JSON.');
      }
      return hookpost.sendMessage(appId, eventType, parsed);
    },
    onSuccess: (message) => setSent(message.id),
  });
  useEffect(() => {
    const first = types.data?.data.find((type) => !type.archived);
    if (!eventType && first) setEventType(first.name);
  }, [types.data, eventType]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSent(undefined);
    send.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="send-title">
      <h2 id="send-title">Send a message</h2>
      <Field label="Event type" hint="A name from the catalogue, or any dotted name">
        {(props) => <input {...props} required list="send-event-types" value={eventType} onChange={(event) => setEventType(event.target.value)} />}
      </Field>
      <datalist id="send-event-types">
        {(types.data?.data ?? []).map((type) => (
          <option key={type.name} value={type.name} />
        ))}
      </datalist>
      <Field label="Payload (JSON object)">{(props) => <textarea {...props} rows={5} className="mono" value={payload} onChange={(event) => setPayload(event.target.value)} />}</Field>
      <div className="actions">
        <button type="submit" disabled={send.isPending}>
          Send
        </button>
      </div>
      {sent && (
        <p role="status">
          Sent message <code>{sent}</code>.
        </p>
      )}
      <ErrorNote error={send.error} />
    </form>
  );
}

function EditApplication({ appId, name, uid, rateLimit }: { appId: string; name: string; uid: string | null; rateLimit: number | null }) {
  const client = useQueryClient();
  const [draft, setDraft] = useState({ name, uid: uid ?? '', rateLimit: rateLimit ? String(rateLimit) : '' });
  const save = useMutation({
    mutationFn: () => hookpost.updateApplication(appId, { name: draft.name.trim(), uid: draft.uid.trim() || null, rateLimit: draft.rateLimit ? Number(draft.rateLimit) : null }),
    onSuccess: (app) => {
      client.setQueryData(['application', appId], app);
      void client.invalidateQueries({ queryKey: ['applications'] });
    },
  });
  const remove = useMutation({
    mutationFn: () => hookpost.deleteApplication(appId),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['applications'] });
      navigate('/ui/applications');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="edit-app-title">
      <h2 id="edit-app-title">Settings</h2>
      <Field label="Name">{(props) => <input {...props} required value={draft.name} onChange={(event) => setDraft({ ...draft, name: event.target.value })} />}</Field>
      <Field label="uid">{(props) => <input {...props} pattern="[a-zA-Z0-9\-_.]+" value={draft.uid} onChange={(event) => setDraft({ ...draft, uid: event.target.value })} />}</Field>
      <Field label="Rate limit (messages/s)">
        {(props) => <input {...props} type="number" min={1} max={65535} value={draft.rateLimit} onChange={(event) => setDraft({ ...draft, rateLimit: event.target.value })} />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
        <button
          type="button"
          className="danger"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm('Delete this application and all its endpoints?')) remove.mutate();
          }}
        >
          Delete application
        </button>
      </div>
      {save.isSuccess && <p role="status">Saved.</p>}
      <ErrorNote error={save.error ?? remove.error} />
    </form>
  );
}
