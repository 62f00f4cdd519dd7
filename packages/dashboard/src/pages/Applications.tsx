import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { hookpost } from '../api/hookpost';
import { Empty, ErrorNote, Field, Loading, ShortId, Time } from '../components/ui';
import { Link, navigate, useTitle } from '../lib/router';

/** Every application (page by page), a search over what is loaded, and a form to create one. */
export function Applications() {
  useTitle('Applications');
  const [search, setSearch] = useState('');
  const applications = useInfiniteQuery({
    queryKey: ['applications'],
    queryFn: ({ pageParam }) => hookpost.applications(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => (page.done ? undefined : page.iterator),
  });
  const rows = useMemo(() => {
    const all = applications.data?.pages.flatMap((page) => page.data) ?? [];
    const wanted = search.trim().toLowerCase();
    return wanted ? all.filter((app) => [app.name, app.uid ?? '', app.id].some((text) => text.toLowerCase().includes(wanted))) : all;
  }, [applications.data, search]);

  return (
    <>
      <header className="page-header">
        <h1>Applications</h1>
        <p className="muted">One per customer you send webhooks to; each has its endpoints.</p>
      </header>
      <CreateApplication />
      <section aria-labelledby="app-list-title" className="card">
        <div className="toolbar">
          <h2 id="app-list-title">All applications</h2>
          <Field label="Search applications">{(props) => <input {...props} type="search" value={search} placeholder="name, uid or id" onChange={(event) => setSearch(event.target.value)} />}</Field>
        </div>
        {applications.isPending ? (
          <Loading what="applications" />
        ) : applications.error ? (
          <ErrorNote error={applications.error} />
        ) : rows.length === 0 ? (
          <Empty>{search ? 'No application matches.' : 'No application yet: create one above.'}</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">uid</th>
                <th scope="col">id</th>
                <th scope="col">Rate limit</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((app) => (
                <tr key={app.id}>
                  <td>
                    <Link to={`/ui/applications/${app.id}`}>{app.name}</Link>
                  </td>
                  <td>{app.uid ?? <span className="muted">—</span>}</td>
                  <td>
                    <ShortId id={app.id} />
                  </td>
                  <td>{app.rateLimit ? `${app.rateLimit}/s` : <span className="muted">none</span>}</td>
                  <td>
                    <Time at={app.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {applications.hasNextPage && (
          <button type="button" className="secondary" onClick={() => applications.fetchNextPage()} disabled={applications.isFetchingNextPage}>
            Load more
          </button>
        )}
      </section>
    </>
  );
}

function CreateApplication() {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [uid, setUid] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const create = useMutation({
    mutationFn: () => hookpost.createApplication({ name: name.trim(), uid: uid.trim() || null, rateLimit: rateLimit ? Number(rateLimit) : null }),
    onSuccess: async (app) => {
      await client.invalidateQueries({ queryKey: ['applications'] });
      navigate(`/ui/applications/${app.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="create-app-title">
      <h2 id="create-app-title">New application</h2>
      <Field label="Name">{(props) => <input {...props} required maxLength={256} value={name} onChange={(event) => setName(event.target.value)} />}</Field>
      <Field label="uid (optional)" hint="Your own name for it, usable in place of the id">
        {(props) => <input {...props} pattern="[a-zA-Z0-9\-_.]+" maxLength={256} value={uid} onChange={(event) => setUid(event.target.value)} />}
      </Field>
      <Field label="Rate limit (messages/s, optional)">
        {(props) => <input {...props} type="number" min={1} max={65535} value={rateLimit} onChange={(event) => setRateLimit(event.target.value)} />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Create application
        </button>
      </div>
      <ErrorNote error={create.error} />
    </form>
  );
}
