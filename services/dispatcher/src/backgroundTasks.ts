import { cursorAfter, isFinalTaskStatus, type HookpostEvent, type MessageCreated, type RedeliveryRequested, type SubscriptionState } from '@hookpost/contracts';
import { readEvent, type Logger } from '@hookpost/platform';
import type { Dispatcher } from './dispatcher';
import type { KafkaLogScan } from './adapters/kafkaLogScan';
import type { StoredMessage, StoredTask } from './adapters/projectorDeliveries';
import { decodeLogPosition, encodeLogPosition, logProgress, replays, replayWindow, searchFromMs } from './task/logReplay';
import {
  advanced,
  checkpointDue,
  decideCheckpoint,
  decideTaskEnd,
  resumedProgress,
  type CheckpointEvery,
  type TaskOutcome,
  type TaskProgress,
} from './task/taskProgress';

export type BackgroundTasksDeps = {
  dispatcher: Pick<Dispatcher, 'liveEndpoint' | 'redeliverMessages'>;
  /** The task as the read model has it (fenced on the topic its cancel and checkpoints are on). */
  taskState: (taskId: string) => Promise<StoredTask | undefined>;
  /** Pages of the messages a recover or replay-missing covers, from a page's position on. */
  redeliverable: (query: {
    kind: 'recover' | 'replay_missing';
    appId: string;
    endpointId: string;
    since: string;
    until: string | null;
    after: string | null;
  }) => AsyncIterable<{ data: StoredMessage[]; next_after: string | null }>;
  logScan: Pick<KafkaLogScan, 'plan' | 'read'>;
  /** Which of an application's messages had their content expunged (a replay from the log leaves them out). */
  expunged: (appId: string, ids: readonly string[]) => Promise<Set<string>>;
  record: (events: HookpostEvent[]) => Promise<void>;
  every: CheckpointEvery;
  /**
   * Messages given their deliveries at once: each chunk is recorded, attempted and counted before the next, so
   * a cancel stops a task within one chunk (a chunk's deliveries, once recorded, are all attempted).
   */
  chunkSize: number;
  log: Logger;
  now: () => Date;
  newId: () => string;
  isStopping: () => boolean;
};

/** A task stopped because the service is: its message is not finished, so it carries on after the restart. */
class TaskInterrupted extends Error {
  constructor() {
    super('the dispatcher is stopping; the task carries on from its last checkpoint after the restart');
    this.name = 'TaskInterrupted';
  }
}

/** Failures in a row (each tried again from where the task had got) before a task is recorded as failed. */
const MAX_FAILURES = 5;

/**
 * Runs background tasks — recover, replay-missing, replay from the log — as the webhooks consumer hands their
 * requests over. A task runs inside its request's handler, so the request's offset is committed only once the
 * task has ended: a dispatcher that dies mid-task leaves the request to the next consumer of its partition,
 * which carries on from the task's last checkpoint. Deliveries made again there have the same ids (they
 * derive from the task, the message and the endpoint) and the attempt guard drops first attempts made before,
 * so no message is sent twice to the endpoint.
 *
 * A cancel (BackgroundTaskCancelled, on the same partition) stops the task here if it runs here; a task reads
 * its state from the read model when it starts and at every checkpoint, so a cancel handled by another
 * process (around a rebalance) stops it too.
 */
export class BackgroundTasks {
  private readonly running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  /** Tasks whose state is being read (one read at a time per task). */
  private readonly looking = new Set<string>();

  constructor(private readonly deps: BackgroundTasksDeps) {}

  /** Runs the task to its end; a task already running here is not started twice. Registers it before it waits on anything. */
  run(request: RedeliveryRequested): Promise<void> {
    const existing = this.running.get(request.request_id);
    if (existing) return existing.done;
    const stop = new AbortController();
    const done = this.execute(request, stop.signal).finally(() => this.running.delete(request.request_id));
    this.running.set(request.request_id, { stop, done });
    return done;
  }

  /** Stops the task if it runs here (true); one that does not reads its cancel when it starts. */
  cancel(taskId: string): boolean {
    const task = this.running.get(taskId);
    task?.stop.abort();
    return task !== undefined;
  }

  private async execute(request: RedeliveryRequested, stop: AbortSignal): Promise<void> {
    const { deps } = this;
    const stored = await this.persistently('read the task', () => deps.taskState(request.request_id));
    // Ended before (a crash after its end was recorded, or a cancel while it was not running): nothing to do.
    if (stored && isFinalTaskStatus(stored.status)) return;
    const state = { progress: resumedProgress(stored, deps.now().getTime()) };
    const endpoint = await deps.dispatcher.liveEndpoint(request);
    if (!endpoint) return this.end(request, state.progress, { outcome: 'failed', reason: 'the endpoint is deleted or disabled' });
    if (request.kind === 'resend') throw new Error('a resend is not a background task');
    for (let failures = 0; ; ) {
      const before = state.progress.messagesScanned;
      try {
        const verdict = request.kind === 'replay_log' ? await this.replayLog(request, endpoint, state, stop) : await this.replayPages(request, request.kind, endpoint, state, stop);
        return await this.end(request, state.progress, verdict === 'done' ? { outcome: 'finished' } : { outcome: 'cancelled', reason: 'cancelled through the API' });
      } catch (error) {
        if (error instanceof TaskInterrupted || deps.isStopping()) throw error;
        failures = state.progress.messagesScanned > before ? 1 : failures + 1;
        deps.log.warn({ err: error, task_id: request.request_id, failures }, 'background task step failed; carrying on from where it got');
        if (failures >= MAX_FAILURES) {
          return this.end(request, state.progress, { outcome: 'failed', reason: `stopped after ${failures} failures in a row: ${String((error as Error)?.message ?? error)}`.slice(0, 500) });
        }
        await sleep(Math.min(500 * 2 ** failures, 10_000));
      }
    }
  }

  /** Recover and replay-missing: the read model's pages of messages, from the task's position on. */
  private async replayPages(
    request: RedeliveryRequested,
    kind: 'recover' | 'replay_missing',
    endpoint: SubscriptionState,
    state: { progress: TaskProgress },
    stop: AbortSignal,
  ): Promise<'done' | 'stopped'> {
    const pages = this.deps.redeliverable({
      kind,
      appId: request.app_id,
      endpointId: endpoint.id,
      since: request.since ?? new Date(0).toISOString(),
      until: request.until,
      after: state.progress.position,
    });
    for await (const page of pages) {
      for (let from = 0; from < page.data.length; from += this.deps.chunkSize) {
        const messages = page.data.slice(from, from + this.deps.chunkSize);
        // (the position just after the chunk's last message: the read model's page cursor)
        const verdict = await this.chunk(request, endpoint, state, messages, messages.length, { position: cursorAfter(messages[messages.length - 1]!) }, stop);
        if (verdict === 'stop') return 'stopped';
      }
    }
    return 'done';
  }

  /**
   * A replay from the log: the webhooks topic read from the window's first offsets to the ends it had when
   * the task was planned (the plan is the first checkpoint, so a task carried on after a crash reads the same
   * ranges), the application's messages of the window and filter sent again, except those expunged since.
   */
  private async replayLog(request: RedeliveryRequested, endpoint: SubscriptionState, state: { progress: TaskProgress }, stop: AbortSignal): Promise<'done' | 'stopped'> {
    const { deps } = this;
    const window = replayWindow(request);
    let position = decodeLogPosition(state.progress.position);
    if (!position) {
      const planned = await deps.logScan.plan(searchFromMs(window));
      position = planned;
      state.progress = { ...state.progress, position: encodeLogPosition(planned), progress: logProgress(planned) };
      await this.checkpoint(request, state, stop);
    }
    return deps.logScan.read(position, async (chunk) => {
      let scanned = 0;
      const messages: StoredMessage[] = [];
      for (const record of chunk.messages) {
        // (MessageCreated is keyed by its application: other applications' records are not even parsed)
        if (record.key?.toString().toLowerCase() !== request.app_id.toLowerCase()) continue;
        const read = readEvent(record.value);
        if (!read.ok || read.event.type !== 'MessageCreated') continue;
        scanned += 1;
        if (replays(request, window, read.event.data)) messages.push(storedMessageOf(read.event.data));
      }
      const expunged = messages.length === 0 ? new Set<string>() : await this.persistently('read expunges', () => deps.expunged(request.app_id, messages.map((message) => message.id)));
      const kept = messages.filter((message) => !expunged.has(message.id));
      return this.chunk(request, endpoint, state, kept, scanned, { position: encodeLogPosition(chunk.position), progress: logProgress(chunk.position) }, stop);
    });
  }

  /**
   * One chunk of a task: its messages' deliveries made, the progress counted, a checkpoint recorded when one is
   * due. Says stop once the task is cancelled; throws when the service is stopping (the task carries on
   * after the restart, from its last checkpoint).
   */
  private async chunk(
    request: RedeliveryRequested,
    endpoint: SubscriptionState,
    state: { progress: TaskProgress },
    messages: readonly StoredMessage[],
    scanned: number,
    after: { position: string | null; progress?: number | null },
    stop: AbortSignal,
  ): Promise<'continue' | 'stop'> {
    if (this.deps.isStopping()) throw new TaskInterrupted();
    if (stop.aborted) return 'stop';
    const sent = messages.length > 0 ? await this.deps.dispatcher.redeliverMessages(request, endpoint, messages) : 0;
    state.progress = advanced(state.progress, { scanned, sent, ...after });
    if (checkpointDue(state.progress, this.deps.now().getTime(), this.deps.every)) await this.checkpoint(request, state, stop);
    return stop.aborted ? 'stop' : 'continue';
  }

  /**
   * Records where the task stands, and looks at its state in the read model: a cancel handled by another
   * process stops it here too. The look is not waited for (the read waits for the projector to catch up, which
   * a busy one may take seconds to do); one is under way at a time.
   */
  private async checkpoint(request: RedeliveryRequested, state: { progress: TaskProgress }, stop: AbortSignal): Promise<void> {
    const decided = decideCheckpoint(request, state.progress, this.deps);
    await this.persistently('record progress', () => this.deps.record([decided.event]));
    state.progress = decided.progress;
    if (stop.aborted || this.looking.has(request.request_id)) return;
    this.looking.add(request.request_id);
    void this.deps
      .taskState(request.request_id)
      .then((stored) => stored?.status === 'cancelled' && this.cancel(request.request_id))
      .catch((error: unknown) => this.deps.log.debug({ err: error, task_id: request.request_id }, 'task state not read; the next checkpoint reads it'))
      .finally(() => this.looking.delete(request.request_id));
  }

  private async end(request: RedeliveryRequested, progress: TaskProgress, outcome: TaskOutcome): Promise<void> {
    await this.persistently('record the end', () => this.deps.record([decideTaskEnd(request, progress, outcome, this.deps)]));
    this.deps.log.info({ task_id: request.request_id, kind: request.kind, outcome: outcome.outcome, sent: progress.messagesSent, scanned: progress.messagesScanned }, 'background task ended');
  }

  /** Retries `step` with backoff until it succeeds or the service is stopping. */
  private async persistently<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await step();
      } catch (error) {
        if (this.deps.isStopping()) throw new TaskInterrupted();
        this.deps.log.warn({ err: error, step: what }, 'background task step failed; retrying');
        await sleep(wait);
      }
    }
  }
}

/**
 * A message as the log holds it. A sealed payload stays sealed (its job opens it at each attempt, as a fan-out's
 * does): once its retention ended or it was expunged, it no longer opens and the delivery ends cancelled for it.
 */
function storedMessageOf(message: MessageCreated): StoredMessage & { payload_sealed?: string } {
  return {
    id: message.message_id,
    app_id: message.app_id,
    event_type: message.event_type,
    event_id: message.event_id,
    channels: message.channels,
    tags: message.tags,
    payload: (message.payload ?? {}) as Record<string, unknown>,
    ...(message.payload_sealed !== undefined ? { payload_sealed: message.payload_sealed } : {}),
    created_at: message.received_at,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
