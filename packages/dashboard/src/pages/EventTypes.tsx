import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { hookpost } from '../api/hookpost';
import { Empty, ErrorNote, Field, Json, Loading, StatusBadge, Time } from '../components/ui';
import { useTitle } from '../lib/router';

/** The event-type catalogue with each type's JSON Schemas; create, archive and restore. */
export function EventTypes({ readOnly = false }: { readOnly?: boolean }) {
  useTitle('Event types');
  const client = useQueryClient();
  const types = useQuery({ queryKey: ['event-types'], queryFn: () => hookpost.eventTypes() });
  const archive = useMutation({
    mutationFn: async ({ name, archived }: { name: string; archived: boolean }) => {
      if (archived) await hookpost.archiveEventType(name);
      else await hookpost.updateEventType(name, { archived: false });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ['event-types'] }),
  });
  return (
    <>
      <header className="page-header">
        <h1>Event types</h1>
        <p className="muted">The catalogue endpoints subscribe to. A type may carry JSON Schemas by version; messages are checked against the highest.</p>
      </header>
      {!readOnly && <CreateEventType />}
      <section className="card" aria-labelledby="types-title">
        <h2 id="types-title">Catalogue</h2>
        {types.isPending ? (
          <Loading what="event types" />
        ) : types.error ? (
          <ErrorNote error={types.error} />
        ) : types.data.data.length === 0 ? (
          <Empty>No event type yet.</Empty>
        ) : (
          <ul className="type-list">
            {types.data.data.map((type) => (
              <li key={type.name} className="type">
                <div className="type-head">
                  <h3>
                    <code>{type.name}</code>
                  </h3>
                  {type.archived && <StatusBadge status="archived" />}
                  {type.deprecated && <StatusBadge status="deprecated" />}
                  <span className="muted small">
                    updated <Time at={type.updatedAt} />
                  </span>
                  {!readOnly && (
                    <button type="button" className="link" onClick={() => archive.mutate({ name: type.name, archived: !type.archived })} aria-label={`${type.archived ? 'Restore' : 'Archive'} ${type.name}`}>
                      {type.archived ? 'Restore' : 'Archive'}
                    </button>
                  )}
                </div>
                <p>{type.description}</p>
                {!readOnly && <EditEventType name={type.name} description={type.description} schemas={type.schemas} />}
                {type.schemas && Object.keys(type.schemas).length > 0 ? (
                  <details>
                    <summary>Schema (versions {Object.keys(type.schemas).join(', ')})</summary>
                    <Json value={type.schemas} label={`Schemas of ${type.name}`} />
                  </details>
                ) : (
                  <p className="muted small">No schema: any JSON object is accepted.</p>
                )}
              </li>
            ))}
          </ul>
        )}
        <ErrorNote error={archive.error} />
      </section>
    </>
  );
}

/** A type's description and its newest schema, changed in place (a new schema replaces version 1's). */
function EditEventType({ name, description, schemas }: { name: string; description: string; schemas: Record<string, unknown> | null }) {
  const client = useQueryClient();
  const versions = Object.keys(schemas ?? {}).map(Number).sort((a, b) => a - b);
  const newest = versions.length ? String(versions[versions.length - 1]) : '1';
  const [draft, setDraft] = useState({ description, schema: schemas?.[newest] ? JSON.stringify(schemas[newest], null, 2) : '' });
  const save = useMutation({
    mutationFn: async () => {
      let schema: unknown = undefined;
      if (draft.schema.trim()) {
        try {
          schema = JSON.parse(draft.schema);
        } catch {
          throw new Error('The schema is not valid JSON.');
        }
      }
      await hookpost.updateEventType(name, { description: draft.description, schemas: schema === undefined ? null : { ...(schemas ?? {}), [newest]: schema } });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ['event-types'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <details>
      <summary>Edit {name}</summary>
      <form className="form-grid" onSubmit={submit}>
        <Field label={`Description of ${name}`}>{(props) => <input {...props} required value={draft.description} onChange={(event) => setDraft({ ...draft, description: event.target.value })} />}</Field>
        <Field label={`JSON Schema of ${name} (version ${newest})`}>
          {(props) => <textarea {...props} rows={6} className="mono" value={draft.schema} onChange={(event) => setDraft({ ...draft, schema: event.target.value })} />}
        </Field>
        <div className="actions">
          <button type="submit" disabled={save.isPending}>
            Save {name}
          </button>
        </div>
        {save.isSuccess && <p role="status">Saved.</p>}
        <ErrorNote error={save.error} />
      </form>
    </details>
  );
}

function CreateEventType() {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [schema, setSchema] = useState('');
  const create = useMutation({
    mutationFn: async () => {
      let schemas: Record<string, unknown> | null = null;
      if (schema.trim()) {
        try {
          schemas = { '1': JSON.parse(schema) };
        } catch {
          throw new Error('The schema is not valid JSON.');
        }
      }
      return hookpost.createEventType({ name: name.trim(), description: description.trim(), schemas });
    },
    onSuccess: async () => {
      setName('');
      setDescription('');
      setSchema('');
      await client.invalidateQueries({ queryKey: ['event-types'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="card form-grid" onSubmit={submit} aria-labelledby="create-type-title">
      <h2 id="create-type-title">New event type</h2>
      <Field label="Name" hint="Dotted lower case, such as invoice.paid">
        {(props) => <input {...props} required pattern="[a-zA-Z0-9\-_.]+" maxLength={256} value={name} onChange={(event) => setName(event.target.value)} />}
      </Field>
      <Field label="Description">{(props) => <input {...props} required value={description} onChange={(event) => setDescription(event.target.value)} />}</Field>
      <Field label="JSON Schema (optional, version 1)" hint='Put "examples": [{…}] in it for test events'>
        {(props) => <textarea {...props} rows={5} className="mono" value={schema} onChange={(event) => setSchema(event.target.value)} />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Create event type
        </button>
      </div>
      {create.isSuccess && <p role="status">Created.</p>}
      <ErrorNote error={create.error} />
    </form>
  );
}
