import type { RedeliveryKind } from './events';

/**
 * Background tasks (recover, replay-missing, replay from the log) in one place: their states, the precedence
 * that lets the projection merge a task's events in any order, that precedence as SQL, and how a task reads
 * in Svix's terms.
 *
 *   running ──▶ finished | failed | cancelled     (final)
 *
 * A task is started by its RedeliveryRequested, moved on by the dispatcher's BackgroundTaskProgressed and
 * ended by BackgroundTaskFinished, or by the API's BackgroundTaskCancelled. A cancel and the task's own end
 * can cross: what the task did wins (finished over failed over cancelled), so a cancel that came too late to
 * stop anything does not make a task that did all its work read as cancelled.
 */

export const backgroundTaskStatuses = ['running', 'cancelled', 'failed', 'finished'] as const;
export type BackgroundTaskStatus = (typeof backgroundTaskStatuses)[number];

/** The statuses in precedence order: a later one in `backgroundTaskStatuses` replaces an earlier one. */
const RANK: Readonly<Record<BackgroundTaskStatus, number>> = { running: 0, cancelled: 1, failed: 2, finished: 3 };

export function backgroundTaskRank(status: BackgroundTaskStatus): number {
  return RANK[status];
}

export function laterTaskStatus(current: BackgroundTaskStatus, incoming: BackgroundTaskStatus): BackgroundTaskStatus {
  return RANK[incoming] > RANK[current] ? incoming : current;
}

export function isFinalTaskStatus(status: BackgroundTaskStatus): boolean {
  return status !== 'running';
}

/** The kinds of RedeliveryRequested that are background tasks (a resend is one delivery, not a task). */
export type BackgroundTaskKind = Exclude<RedeliveryKind, 'resend'>;

export function isBackgroundTaskKind(kind: RedeliveryKind): kind is BackgroundTaskKind {
  return kind !== 'resend';
}

/**
 * Svix's task type of each kind. A replay from the log is Hookpost's own operation; it reads as Svix's
 * `endpoint.bulk-replay`, the type Svix gives its own filtered replays, so Svix's clients can parse it.
 */
export const svixTaskTypes = { recover: 'endpoint.recover', replay_missing: 'endpoint.replay', replay_log: 'endpoint.bulk-replay' } as const satisfies Record<
  BackgroundTaskKind,
  string
>;
export type SvixTaskType = (typeof svixTaskTypes)[BackgroundTaskKind];

export function taskKindOfSvixType(type: SvixTaskType): BackgroundTaskKind {
  const found = (Object.keys(svixTaskTypes) as BackgroundTaskKind[]).find((kind) => svixTaskTypes[kind] === type);
  if (!found) throw new Error(`no task kind for ${type}`);
  return found;
}

/**
 * Svix's status of a task. Svix has no `cancelled` (and its clients refuse values they do not know), so a
 * cancelled task reads as `failed` — it did not do all its work — and says `cancelled` in its data's `state`.
 */
export const svixTaskStatuses = ['running', 'finished', 'failed'] as const;
export type SvixTaskStatus = (typeof svixTaskStatuses)[number];

export function svixTaskStatusOf(status: BackgroundTaskStatus): SvixTaskStatus {
  switch (status) {
    case 'running':
    case 'finished':
    case 'failed':
      return status;
    case 'cancelled':
      return 'failed';
    default: {
      const unknown: never = status;
      throw new Error(`unknown task status ${String(unknown)}`);
    }
  }
}

/** Our statuses that read as a Svix status (a list filtered by Svix's `status`). */
export function taskStatusesOfSvix(status: SvixTaskStatus): BackgroundTaskStatus[] {
  return backgroundTaskStatuses.filter((ours) => svixTaskStatusOf(ours) === status);
}

/** The rank of a status column as SQL (for the upsert's precedence rule), generated from the same table. */
export function taskRankSql(column: string): string {
  return `CASE ${column} ${backgroundTaskStatuses.map((status) => `WHEN '${status}' THEN ${RANK[status]}`).join(' ')} END`;
}
