import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { onSignedOut, useCredential } from './api/client';
import { currentSession, signOut, type Session } from './api/session';
import { ApiError } from './api/client';
import { Loading } from './components/ui';
import { publicPath } from './lib/basePath';
import { brand } from './lib/brand';
import { Link, match, navigate, useLocation } from './lib/router';
import { Application } from './pages/Application';
import { Applications } from './pages/Applications';
import { Deliveries } from './pages/Deliveries';
import { DeliveryPage } from './pages/Delivery';
import { Endpoint } from './pages/Endpoint';
import { EventTypes } from './pages/EventTypes';
import { Overview } from './pages/Overview';
import { SignIn } from './pages/SignIn';
import { TaskPage, Tasks } from './pages/Tasks';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // (a 4xx will not turn out differently the second time)
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
    },
  },
});

/** The operator dashboard: sign-in, then the pages under /ui. */
export function OperatorApp() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    currentSession().then((found) => setSession(found ?? null), () => setSession(null));
    return onSignedOut(() => {
      queryClient.clear();
      setSession(null);
    });
  }, []);
  useCredential(session ? { kind: 'session', csrf: session.csrf } : undefined);
  if (session === undefined) return <Loading what="the dashboard" />;
  if (session === null) return <SignIn onSignedIn={(next) => setSession(next)} />;
  const leave = async () => {
    await signOut(session.csrf).catch(() => undefined);
    queryClient.clear();
    setSession(null);
    navigate('/ui/');
  };
  return (
    <QueryClientProvider client={queryClient}>
      <Shell onSignOut={leave} />
    </QueryClientProvider>
  );
}

const sections = [
  { to: '/ui/', label: 'Overview', active: (path: string) => path === '/ui' || path === '/ui/' },
  { to: '/ui/applications', label: 'Applications', active: (path: string) => path.startsWith('/ui/applications') },
  { to: '/ui/event-types', label: 'Event types', active: (path: string) => path.startsWith('/ui/event-types') },
  { to: '/ui/deliveries', label: 'Deliveries', active: (path: string) => path.startsWith('/ui/deliveries') },
  { to: '/ui/tasks', label: 'Tasks', active: (path: string) => path.startsWith('/ui/tasks') },
];

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { path } = useLocation();
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">
          {brand.logoUrl && <img src={brand.logoUrl} alt="" height={24} />}
          {brand.name}
        </span>
        <nav aria-label="Sections">
          <ul>
            {sections.map((section) => (
              <li key={section.to}>
                <Link to={section.to} aria-current={section.active(path) ? 'page' : undefined}>
                  {section.label}
                </Link>
              </li>
            ))}
            <li>
              <a href={publicPath('/docs')}>API</a>
            </li>
            <li>
              <a href={publicPath('/redoc')}>Reference</a>
            </li>
          </ul>
        </nav>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}

function Page({ path }: { path: string }) {
  let params: Record<string, string> | undefined;
  if (path === '/ui' || path === '/ui/') return <Overview />;
  if (match('/ui/applications', path)) return <Applications />;
  if ((params = match('/ui/applications/:app', path))) return <Application appId={params.app!} />;
  if ((params = match('/ui/applications/:app/endpoints/:endpoint', path))) return <Endpoint appId={params.app!} endpointId={params.endpoint!} base={`/ui/applications/${params.app}`} />;
  if (match('/ui/event-types', path)) return <EventTypes />;
  if (match('/ui/deliveries', path)) return <Deliveries />;
  if ((params = match('/ui/deliveries/:id', path))) return <DeliveryPage deliveryId={params.id!} />;
  if (match('/ui/tasks', path)) return <Tasks />;
  if ((params = match('/ui/tasks/:id', path))) return <TaskPage taskId={params.id!} />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        No page at {path}. <Link to="/ui/">Go to the overview</Link>.
      </p>
    </>
  );
}
