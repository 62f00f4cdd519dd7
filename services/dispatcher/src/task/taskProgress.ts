import { makeEvent, type EventOf, type RedeliveryRequested } from '@hookpost/contracts';

/**
 * Where a background task stands in the dispatcher: its counters, its position (where to carry on after a
 * crash), and the checkpoint count (each BackgroundTaskProgressed is one; the read model keeps the position of
 * the highest). Pure: the runner (backgroundTasks.ts) advances it and records what it decides.
 */
export type TaskProgress = Readonly<{
  checkpoint: number;
  messagesScanned: number;
  messagesSent: number;
  position: string | null;
  /** The share of the work done (0–1), when the task knows its size. */
  progress: number | null;
  /** When the last checkpoint was recorded, and the messages scanned since (for `checkpointDue`). */
  checkpointedAtMs: number;
  scannedSinceCheckpoint: number;
}>;

/** What the read model remembers of a task that ran before (a crash, a rebalance): where to carry on from. */
export type StoredTaskProgress = {
  checkpoint: number | null;
  messages_scanned: number;
  messages_sent: number;
  position: string | null;
  progress: number | null;
};

export function resumedProgress(stored: StoredTaskProgress | undefined, nowMs: number): TaskProgress {
  return {
    checkpoint: stored?.checkpoint ?? -1,
    messagesScanned: stored?.messages_scanned ?? 0,
    messagesSent: stored?.messages_sent ?? 0,
    position: stored?.position ?? null,
    progress: stored?.progress ?? null,
    checkpointedAtMs: nowMs,
    scannedSinceCheckpoint: 0,
  };
}

/** After a chunk of work: the counters moved on, and the position every message before which is done. */
export function advanced(current: TaskProgress, chunk: { scanned: number; sent: number; position: string | null; progress?: number | null }): TaskProgress {
  return {
    ...current,
    messagesScanned: current.messagesScanned + chunk.scanned,
    messagesSent: current.messagesSent + chunk.sent,
    position: chunk.position,
    progress: chunk.progress === undefined ? current.progress : chunk.progress,
    scannedSinceCheckpoint: current.scannedSinceCheckpoint + chunk.scanned,
  };
}

export type CheckpointEvery = Readonly<{ messages: number; ms: number }>;

/** A checkpoint is due after `every.messages` messages or `every.ms` since the last, whichever comes first. */
export function checkpointDue(current: TaskProgress, nowMs: number, every: CheckpointEvery): boolean {
  return current.scannedSinceCheckpoint >= every.messages || nowMs - current.checkpointedAtMs >= every.ms;
}

/** The checkpoint: the event that records it, and the progress counted from it. */
export function decideCheckpoint(
  request: RedeliveryRequested,
  current: TaskProgress,
  deps: { now: () => Date; newId: () => string },
): { progress: TaskProgress; event: EventOf<'BackgroundTaskProgressed'> } {
  const now = deps.now();
  const checkpoint = current.checkpoint + 1;
  const event = makeEvent(
    'BackgroundTaskProgressed',
    {
      task_id: request.request_id,
      app_id: request.app_id,
      checkpoint,
      messages_scanned: current.messagesScanned,
      messages_sent: current.messagesSent,
      progress: current.progress === null ? null : Math.min(1, Math.max(0, current.progress)),
      position: current.position,
      progressed_at: now.toISOString(),
    },
    deps,
  );
  return { progress: { ...current, checkpoint, checkpointedAtMs: now.getTime(), scannedSinceCheckpoint: 0 }, event };
}

export type TaskOutcome = { outcome: 'finished' } | { outcome: 'failed'; reason: string } | { outcome: 'cancelled'; reason: string };

export function decideTaskEnd(request: RedeliveryRequested, current: TaskProgress, end: TaskOutcome, deps: { now: () => Date; newId: () => string }): EventOf<'BackgroundTaskFinished'> {
  return makeEvent(
    'BackgroundTaskFinished',
    {
      task_id: request.request_id,
      app_id: request.app_id,
      outcome: end.outcome,
      messages_scanned: current.messagesScanned,
      messages_sent: current.messagesSent,
      reason: end.outcome === 'finished' ? null : end.reason,
      finished_at: deps.now().toISOString(),
    },
    deps,
  );
}
