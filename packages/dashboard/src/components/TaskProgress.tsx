import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { hookpost } from '../api/hookpost';
import { taskTypeNames, type BackgroundTask } from '../api/types';
import { Link } from '../lib/router';
import { ErrorNote, ShortId, StatusBadge, Time } from './ui';

/** How often a running task is asked for again: its checkpoints come every few hundred messages or seconds. */
export const RUNNING_TASK_REFRESH_MS = 1_000;

/** One task, asked for again every second while it runs (and no more once it has ended). */
export function useTask(taskId: string) {
  return useQuery({
    queryKey: ['task', taskId],
    queryFn: () => hookpost.task(taskId),
    refetchInterval: (query) => (query.state.data?.data.state === 'running' || query.state.data === undefined ? RUNNING_TASK_REFRESH_MS : false),
  });
}

/**
 * The task's progress as a bar: the fraction where the task knows its size (a replay from the log), else a
 * bar that only says it is busy, and in words the messages looked at and sent.
 */
export function TaskProgressBar({ task }: { task: BackgroundTask }) {
  const { state, progress, messagesScanned, messagesSent } = task.data;
  const done = state !== 'running';
  const value = state === 'finished' ? 1 : progress;
  const percent = value === null ? undefined : Math.round(value * 100);
  return (
    <div className="task-progress">
      <progress
        max={1}
        {...(value === null ? {} : { value })}
        aria-label={`Progress of task ${task.id}`}
        aria-valuetext={percent === undefined ? (done ? state : 'running, size not known') : `${percent} %`}
        data-testid="task-progress"
      />{' '}
      <span className="small">
        {percent !== undefined && <strong>{percent} % · </strong>}
        {messagesSent} sent of {messagesScanned} looked at
      </span>
    </div>
  );
}

export function TaskStateBadge({ task }: { task: BackgroundTask }) {
  return <StatusBadge status={task.data.state} />;
}

/** Cancel, for a running task: it reads cancelled at once and stops after the messages it is sending. */
export function CancelTask({ task }: { task: BackgroundTask }) {
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => hookpost.cancelTask(task.id),
    onSuccess: (next) => {
      client.setQueryData(['task', task.id], next);
      void client.invalidateQueries({ queryKey: ['tasks'] });
    },
  });
  if (task.data.state !== 'running') return null;
  return (
    <>
      <button type="button" className="secondary" disabled={cancel.isPending} onClick={() => cancel.mutate()} aria-label={`Cancel task ${task.id}`}>
        Cancel
      </button>
      <ErrorNote error={cancel.error} />
    </>
  );
}

/** A task just started from an endpoint's page: its state and progress, live, and (for the operator) a link to it. */
export function StartedTask({ taskId, link }: { taskId: string; link: boolean }) {
  const task = useTask(taskId);
  return (
    <div className="started-task" data-task={taskId} data-state={task.data?.data.state}>
      <p role="status">
        {task.data ? taskTypeNames[task.data.task] ?? task.data.task : 'Task'} started: task{' '}
        {link ? (
          <Link to={`/ui/tasks/${taskId}`}>
            <ShortId id={taskId} />
          </Link>
        ) : (
          <ShortId id={taskId} />
        )}{' '}
        {task.data && <TaskStateBadge task={task.data} />}
        {task.data?.data.finishedAt && (
          <span className="muted small">
            {' '}
            · ended <Time at={task.data.data.finishedAt} />
          </span>
        )}
      </p>
      {task.data && <TaskProgressBar task={task.data} />}
      {task.data?.data.reason && <p className="muted">{task.data.data.reason}</p>}
      {task.data && <CancelTask task={task.data} />}
      <ErrorNote error={task.error} />
    </div>
  );
}
