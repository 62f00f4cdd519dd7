import { QueryClient, QueryClientProvider, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, useCredential } from '../api/client';
import { hookpost } from '../api/hookpost';
import { svixStatusNames, type DeliveryChange } from '../api/types';
import { Empty, ErrorNote, Json, Loading, ShortId, StatusBadge, Time } from '../components/ui';
import { brand } from '../lib/brand';
import { fromExternalId } from '../lib/externalIds';
import { useLiveDeliveries } from '../lib/liveStream';
import { Link, match, useLocation, useTitle } from '../lib/router';
import { CreateEndpoint, Endpoints } from '../pages/Application';
import { Endpoint } from '../pages/Endpoint';
import { EventTypes } from '../pages/EventTypes';
import { reportHeightToEmbedder } from './frameHeight';
import { applicationOfToken, forgetPortalToken, tabStorage, takePortalToken } from './portalToken';

const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 5_000, retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500) } },
});

/**
 * The application portal (/portal): what the customer who receives one application's webhooks sees, opened
 * with the URL auth/app-portal-access answers and embeddable in a frame (HOOKPOST_PORTAL_FRAME_ANCESTORS).
 * Everything it calls is the public API with the application's token, which reaches that application only.
 */
export function PortalApp() {
  const [storage] = useState(() => tabStorage(() => window.sessionStorage));
  const [token, setToken] = useState(() => takePortalToken(window.location, storage, window.history));
  const appId = token ? applicationOfToken(token) : undefined;
  useCredential(token ? { kind: 'token', token } : undefined);
  useEffect(() => reportHeightToEmbedder(window), []);
  if (!token || !appId) {
    return (
      <main id="main" className="sign-in">
        <div className="card">
          <h1>{brand.name}</h1>
          <p>This portal opens from a link your provider gives you. The link has expired or is incomplete: ask for a new one.</p>
        </div>
      </main>
    );
  }
  const leave = async () => {
    await api('POST', '/api/v1/auth/logout', {}).catch(() => undefined);
    forgetPortalToken(storage);
    queryClient.clear();
    setToken(undefined);
  };
  return (
    <QueryClientProvider client={queryClient}>
      <PortalShell appId={appId} onLeave={leave} />
    </QueryClientProvider>
  );
}

function PortalShell({ appId, onLeave }: { appId: string; onLeave: () => void }) {
  const { path } = useLocation();
  const app = useQuery({ queryKey: ['application', appId], queryFn: () => hookpost.application(appId) });
  const sections = [
    { to: '/portal/', label: 'Endpoints', active: path === '/portal' || path === '/portal/' || path.startsWith('/portal/endpoints') },
    { to: '/portal/event-types', label: 'Event types', active: path.startsWith('/portal/event-types') },
    { to: '/portal/verify', label: 'Verifying signatures', active: path.startsWith('/portal/verify') },
  ];
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">
          {brand.logoUrl && <img src={brand.logoUrl} alt="" height={24} />}
          {brand.name}
          {app.data && <span className="muted small"> · {app.data.name}</span>}
        </span>
        <nav aria-label="Sections">
          <ul>
            {sections.map((section) => (
              <li key={section.to}>
                <Link to={section.to} aria-current={section.active ? 'page' : undefined}>
                  {section.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="secondary" onClick={onLeave}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <PortalPage appId={appId} path={path} />
      </main>
    </>
  );
}

function PortalPage({ appId, path }: { appId: string; path: string }) {
  let params: Record<string, string> | undefined;
  if (path === '/portal' || path === '/portal/') return <PortalHome appId={appId} />;
  if (match('/portal/event-types', path)) return <EventTypes readOnly />;
  if (match('/portal/verify', path)) return <Verifying />;
  if ((params = match('/portal/endpoints/:endpoint', path))) return <Endpoint appId={appId} endpointId={params.endpoint!} base="/portal" />;
  if ((params = match('/portal/endpoints/:endpoint/messages', path))) return <EndpointMessages appId={appId} endpointId={params.endpoint!} />;
  if ((params = match('/portal/endpoints/:endpoint/messages/:msg', path))) return <PortalMessage appId={appId} endpointId={params.endpoint!} msgId={params.msg!} />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        <Link to="/portal/">Back to the endpoints</Link>
      </p>
    </>
  );
}

function PortalHome({ appId }: { appId: string }) {
  useTitle('Endpoints');
  return (
    <>
      <header className="page-header">
        <h1>Endpoints</h1>
        <p className="muted">Where we send your webhooks. Each endpoint chooses the event types it gets and has a secret of its own to check our signatures with.</p>
      </header>
      <Endpoints appId={appId} base="/portal" />
      <CreateEndpoint appId={appId} base="/portal" />
    </>
  );
}

/** What this endpoint was sent, newest first, with each message's status there; live. */
function EndpointMessages({ appId, endpointId }: { appId: string; endpointId: string }) {
  useTitle('Messages');
  const client = useQueryClient();
  const [status, setStatus] = useState('');
  const messages = useQuery({
    queryKey: ['endpoint-messages', endpointId, status],
    queryFn: () => hookpost.endpointMessages(appId, endpointId, { status: status === '' ? undefined : Number(status) }),
  });
  const endpoint = useQuery({ queryKey: ['endpoint', appId, endpointId], queryFn: () => hookpost.endpoint(appId, endpointId) });
  const paused = endpoint.data?.paused ?? false;
  const endpointUuid = fromExternalId('ep', endpointId);
  const live = useLiveDeliveries(
    useCallback(
      (changes: DeliveryChange[]) => {
        if (changes.length === 0 || changes.some((change) => change.subscription_id === endpointUuid)) void client.invalidateQueries({ queryKey: ['endpoint-messages', endpointId] });
      },
      [client, endpointId, endpointUuid],
    ),
  );
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to={`/portal/endpoints/${endpointId}`}>Endpoint</Link> /
        </p>
        <h1>
          Messages
          {paused && (
            <>
              {' '}
              <StatusBadge status="paused" />
            </>
          )}
        </h1>
        {paused && <p>This endpoint is paused: new messages are held (pending, with no next attempt) and sent when it is resumed.</p>}
        <p className="muted">
          Sent to this endpoint, newest first.{' '}
          <span className={`live live-${live}`} role="status">
            {live === 'live' ? 'Live' : ''}
          </span>
        </p>
      </header>
      <section className="card" aria-labelledby="messages-title">
        <div className="toolbar">
          <h2 id="messages-title">Messages</h2>
          <div className="field">
            <label htmlFor="message-status">Status</label>
            <select id="message-status" value={status} onChange={(event) => setStatus(event.target.value)}>
              <option value="">All</option>
              {Object.entries(svixStatusNames).map(([value, name]) => (
                <option key={value} value={value}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </div>
        {messages.isPending ? (
          <Loading what="messages" />
        ) : messages.error ? (
          <ErrorNote error={messages.error} />
        ) : messages.data.data.length === 0 ? (
          <Empty>Nothing sent here yet.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event type</th>
                <th scope="col">Message</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {messages.data.data.map((message) => (
                <tr key={message.id} data-message={message.id} data-status={svixStatusNames[message.status]}>
                  <td>
                    <StatusBadge status={svixStatusNames[message.status] ?? String(message.status)} />
                    {/* (the API reports a held delivery as pending with no next attempt) */}
                    {paused && message.status === 1 && !message.nextAttempt && (
                      <>
                        {' '}
                        <span className="badge badge-held">held</span>
                      </>
                    )}
                  </td>
                  <td>{message.eventType}</td>
                  <td>
                    <Link to={`/portal/endpoints/${endpointId}/messages/${message.id}`}>
                      <ShortId id={message.id} />
                    </Link>
                  </td>
                  <td>
                    <Time at={message.nextAttempt} />
                  </td>
                  <td>
                    <Time at={message.timestamp} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function PortalMessage({ appId, endpointId, msgId }: { appId: string; endpointId: string; msgId: string }) {
  useTitle('Message');
  const client = useQueryClient();
  const message = useQuery({ queryKey: ['message', msgId], queryFn: () => hookpost.message(appId, msgId) });
  const attempts = useQuery({ queryKey: ['message-attempts', msgId, endpointId], queryFn: () => hookpost.messageAttempts(appId, msgId, endpointId) });
  const msgUuid = fromExternalId('msg', msgId);
  useLiveDeliveries(
    useCallback(
      (changes: DeliveryChange[]) => {
        if (changes.length === 0 || changes.some((change) => change.message_id === msgUuid)) void client.invalidateQueries({ queryKey: ['message-attempts', msgId] });
      },
      [client, msgId, msgUuid],
    ),
  );
  const resend = useMutation({ mutationFn: () => hookpost.resend(appId, msgId, endpointId) });
  if (message.isPending) return <Loading what="the message" />;
  if (message.error) return <ErrorNote error={message.error} />;
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to={`/portal/endpoints/${endpointId}/messages`}>Messages</Link> /
        </p>
        <h1>{message.data.eventType}</h1>
        <p className="muted">
          <ShortId id={message.data.id} /> · sent <Time at={message.data.timestamp} />
        </p>
      </header>
      <div className="columns">
        <section className="card" aria-labelledby="attempts-title">
          <h2 id="attempts-title">Attempts</h2>
          {attempts.data ? (
            <ol className="timeline" aria-label="Attempts, newest first">
              {attempts.data.data.map((attempt) => (
                <li key={attempt.id} className={`timeline-item ${attempt.status === 0 ? 'ok' : 'bad'}`} data-attempt-status={svixStatusNames[attempt.status]}>
                  <details>
                    <summary>
                      <StatusBadge status={svixStatusNames[attempt.status] ?? String(attempt.status)} /> {attempt.responseStatusCode || 'no response'} · {attempt.responseDurationMs} ms ·{' '}
                      {attempt.triggerType === 1 ? 'manual' : 'scheduled'} · <Time at={attempt.timestamp} />
                    </summary>
                    <Json value={attempt.response} label={`Response to attempt ${attempt.id}`} />
                  </details>
                </li>
              ))}
            </ol>
          ) : (
            <ErrorNote error={attempts.error} />
          )}
          <div className="actions">
            <button type="button" onClick={() => resend.mutate()} disabled={resend.isPending}>
              Resend
            </button>
            {resend.isSuccess && <p role="status">Resend requested.</p>}
          </div>
          <ErrorNote error={resend.error} />
        </section>
        <section className="card" aria-labelledby="payload-title">
          <h2 id="payload-title">Payload</h2>
          <Json value={message.data.payload} label="Payload" />
        </section>
      </div>
    </>
  );
}

function Verifying() {
  useTitle('Verifying signatures');
  return (
    <>
      <header className="page-header">
        <h1>Verifying signatures</h1>
      </header>
      <section className="card">
        <p>
          Every webhook carries <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> headers (
          <a href="https://www.standardwebhooks.com">Standard Webhooks</a>). Check them on the raw body, before you parse it, with the endpoint's signing secret (on its page), and drop a
          message whose <code>webhook-id</code> you have seen already: a retry carries the same one.
        </p>
        <Json
          label="Verifying in Node.js"
          value={`// npm install standardwebhooks
const { Webhook } = require('standardwebhooks');
const wh = new Webhook(process.env.WEBHOOK_SECRET); // whsec_…, from the endpoint's page

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  try {
    const event = wh.verify(req.body, req.headers); // throws when the signature or timestamp is wrong
    // ... handle event, de-duplicating on req.headers['webhook-id']
    res.sendStatus(204);
  } catch {
    res.sendStatus(400);
  }
});`}
        />
        <p className="muted">
          Svix's libraries verify these too (<code>new Webhook(secret).verify(body, headers)</code>). A 2xx answer within the timeout counts as delivered; anything else is retried on a schedule.
        </p>
      </section>
    </>
  );
}
