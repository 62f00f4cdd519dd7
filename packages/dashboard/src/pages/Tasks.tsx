import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { hookpost } from '../api/hookpost';
import { taskTypeNames, type BackgroundTask } from '../api/types';
import { CancelTask, RUNNING_TASK_REFRESH_MS, TaskProgressBar, TaskStateBadge, useTask } from '../components/TaskProgress';
import { Empty, ErrorNote, Field, Loading, ShortId, Time } from '../components/ui';
import { fromExternalId } from '../lib/externalIds';
import { Link, useTitle } from '../lib/router';

/**
 * Background tasks (recover, replay-missing, replay from the log), newest first: their state and progress,
 * asked for again every second while one of them runs, and cancel for a running one.
 */
export function Tasks() {
  useTitle('Tasks');
  const [status, setStatus] = useState('');
  const [iterators, setIterators] = useState<(string | null)[]>([null]);
  const iterator = iterators[iterators.length - 1] ?? null;
  const tasks = useQuery({
    queryKey: ['tasks', status, iterator],
    queryFn: () => hookpost.tasks({ status: status || undefined, iterator }),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.data.some((task) => task.data.state === 'running') ? RUNNING_TASK_REFRESH_MS : 5_000),
  });
  return (
    <>
      <header className="page-header">
        <h1>Tasks</h1>
        <p className="muted">Recoveries and replays started from an endpoint&apos;s page or the API, newest first. A running task&apos;s progress refreshes every second.</p>
      </header>
      <section className="card" aria-labelledby="tasks-title">
        <div className="toolbar">
          <h2 id="tasks-title">Background tasks</h2>
          <Field label="Status">
            {(props) => (
              <select
                {...props}
                value={status}
                onChange={(event) => {
                  setStatus(event.target.value);
                  setIterators([null]);
                }}
              >
                <option value="">All</option>
                <option value="running">running</option>
                <option value="finished">finished</option>
                <option value="failed">failed or cancelled</option>
              </select>
            )}
          </Field>
        </div>
        {tasks.isPending ? (
          <Loading what="tasks" />
        ) : tasks.error ? (
          <ErrorNote error={tasks.error} />
        ) : tasks.data.data.length === 0 ? (
          <Empty>No task yet. Recover and replay an endpoint&apos;s deliveries from its page.</Empty>
        ) : (
          <table className="tasks">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Started</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tasks.data.data.map((task) => (
                <TaskRow key={task.id} task={task} />
              ))}
            </tbody>
          </table>
        )}
        <nav className="pager" aria-label="Pages">
          {iterators.length > 1 && (
            <button type="button" className="secondary" onClick={() => setIterators([null])}>
              Newest
            </button>
          )}
          {tasks.data && !tasks.data.done && tasks.data.iterator && (
            <button type="button" className="secondary" onClick={() => setIterators([...iterators, tasks.data!.iterator])}>
              Older
            </button>
          )}
        </nav>
      </section>
    </>
  );
}

function TaskRow({ task }: { task: BackgroundTask }) {
  const endpointUuid = fromExternalId('ep', task.data.endpointId);
  return (
    <tr data-task={task.id} data-state={task.data.state}>
      <td>
        <Link to={`/ui/tasks/${task.id}`}>
          <ShortId id={task.id} />
        </Link>
      </td>
      <td>{taskTypeNames[task.task] ?? task.task}</td>
      <td>
        <TaskStateBadge task={task} />
      </td>
      <td>
        <TaskProgressBar task={task} />
      </td>
      <td>
        {endpointUuid ? (
          <Link to={`/ui/deliveries?subscription_id=${endpointUuid}`} title="Its deliveries">
            <ShortId id={task.data.endpointId} />
          </Link>
        ) : (
          <ShortId id={task.data.endpointId} />
        )}
      </td>
      <td>
        <Time at={task.data.startedAt} />
      </td>
      <td>
        <CancelTask task={task} />
      </td>
    </tr>
  );
}

/** One task: what it was asked to do, its progress (live while it runs), how it ended. */
export function TaskPage({ taskId }: { taskId: string }) {
  useTitle(`Task ${taskId}`);
  const task = useTask(taskId);
  if (task.isPending) return <Loading what="the task" />;
  if (task.error) return <ErrorNote error={task.error} />;
  const t = task.data;
  const endpointUuid = fromExternalId('ep', t.data.endpointId);
  return (
    <>
      <header className="page-header">
        <p className="crumbs">
          <Link to="/ui/tasks">Tasks</Link> /
        </p>
        <h1>
          {taskTypeNames[t.task] ?? t.task} <TaskStateBadge task={t} />
        </h1>
        <p className="muted">
          task <ShortId id={t.id} /> · started <Time at={t.data.startedAt} /> · updated <Time at={t.updatedAt} />
        </p>
      </header>
      <section className="card" aria-labelledby="progress-title">
        <h2 id="progress-title">Progress</h2>
        <TaskProgressBar task={t} />
        {t.data.reason && <p>{t.data.reason}</p>}
        <div className="actions">
          <CancelTask task={t} />
        </div>
      </section>
      <section className="card" aria-labelledby="request-title">
        <h2 id="request-title">What it was asked to do</h2>
        <dl className="facts">
          <dt>Endpoint</dt>
          <dd>
            <ShortId id={t.data.endpointId} />
            {endpointUuid && (
              <>
                {' '}
                · <Link to={`/ui/deliveries?subscription_id=${endpointUuid}`}>its deliveries</Link>
              </>
            )}
          </dd>
          <dt>Since</dt>
          <dd>
            <Time at={t.data.since} />
          </dd>
          <dt>Until</dt>
          <dd>{t.data.until ? <Time at={t.data.until} /> : 'when it was asked for'}</dd>
          <dt>Event types</dt>
          <dd>{t.data.eventTypes?.length ? t.data.eventTypes.join(', ') : 'all'}</dd>
          <dt>Channel</dt>
          <dd>{t.data.channel ?? 'any'}</dd>
          <dt>Ended</dt>
          <dd>
            <Time at={t.data.finishedAt} />
          </dd>
        </dl>
      </section>
    </>
  );
}
