import type { MessageCreated, RedeliveryRequested } from '@hookpost/contracts';

/**
 * A replay from the log, decided without I/O: which part of the webhooks topic to read, which messages of it
 * to send again, and where the reading stands (the task's position, kept in its checkpoints).
 *
 * The window is [since, until) of the messages' `received_at`; without `until` it ends when the task was
 * asked for. Kafka finds the first offset of each partition at a time by the records' timestamps, which the
 * gateway's producer sets (its clock, as `received_at`) when it sends, so a record is never stamped before its
 * message was received; the search starts LOG_TIME_MARGIN_MS earlier all the same (a broker that stamps
 * records with its own clock, LogAppendTime, may run behind), and every message read is held to the window.
 */
export const LOG_TIME_MARGIN_MS = 60_000;

export type ReplayWindow = Readonly<{ sinceMs: number; untilMs: number }>;

export function replayWindow(request: Pick<RedeliveryRequested, 'since' | 'until' | 'requested_at'>): ReplayWindow {
  return { sinceMs: request.since === null ? 0 : Date.parse(request.since), untilMs: Date.parse(request.until ?? request.requested_at) };
}

/** From which record time the topic is searched: a margin before the window. */
export function searchFromMs(window: ReplayWindow): number {
  return Math.max(0, window.sinceMs - LOG_TIME_MARGIN_MS);
}

/**
 * Whether a message read from the log is one to send again: the request's application, received in the
 * window, of one of its event types and in its channel (when it names them), and a message fanned out to the
 * application (send-example messages to one endpoint are that endpoint's only, so only its own replay has them).
 */
export function replays(request: Pick<RedeliveryRequested, 'app_id' | 'subscription_id' | 'event_types' | 'channel'>, window: ReplayWindow, message: MessageCreated): boolean {
  if (message.app_id !== request.app_id) return false;
  const at = Date.parse(message.received_at);
  if (!(at >= window.sinceMs && at < window.untilMs)) return false;
  if (request.event_types && request.event_types.length > 0 && !request.event_types.includes(message.event_type)) return false;
  if (request.channel && !(message.channels ?? []).includes(request.channel)) return false;
  return message.endpoint_id === undefined || message.endpoint_id === request.subscription_id;
}

/** Per partition: the first offset to read, the next one to read, and the end (not included). Offsets as decimal text. */
export type PartitionRange = Readonly<{ start: string; next: string; end: string }>;
export type LogPosition = Readonly<{ partitions: Readonly<Record<string, PartitionRange>> }>;

/** The ranges to read: from each partition's first offset at the search time to its end when the task was planned. */
export function planLog(starts: readonly { partition: number; offset: string }[], ends: readonly { partition: number; offset: string }[]): LogPosition {
  const partitions: Record<string, PartitionRange> = {};
  for (const { partition, offset: end } of ends) {
    const found = starts.find((start) => start.partition === partition)?.offset;
    // (no record at or after the search time: nothing to read there)
    const start = found === undefined || BigInt(found) < 0n || BigInt(found) > BigInt(end) ? end : found;
    partitions[String(partition)] = { start, next: start, end };
  }
  return { partitions };
}

export function logDone(position: LogPosition): boolean {
  return Object.values(position.partitions).every((range) => BigInt(range.next) >= BigInt(range.end));
}

/** The position after reading a partition up to (not including) `next`; it never moves back, nor past the end. */
export function readUpTo(position: LogPosition, partition: number, next: string): LogPosition {
  const range = position.partitions[String(partition)];
  if (!range) return position;
  const wanted = BigInt(next) > BigInt(range.end) ? BigInt(range.end) : BigInt(next);
  if (wanted <= BigInt(range.next)) return position;
  return { partitions: { ...position.partitions, [String(partition)]: { ...range, next: wanted.toString() } } };
}

/** The share of the offsets read (1 when there is nothing to read). */
export function logProgress(position: LogPosition): number {
  let total = 0n;
  let read = 0n;
  for (const range of Object.values(position.partitions)) {
    total += BigInt(range.end) - BigInt(range.start);
    read += BigInt(range.next) - BigInt(range.start);
  }
  return total === 0n ? 1 : Number((read * 10_000n) / total) / 10_000;
}

const OFFSET = /^[0-9]{1,19}$/;

export function encodeLogPosition(position: LogPosition): string {
  return JSON.stringify({ log: position.partitions });
}

/** A position a checkpoint recorded; undefined for anything else (the task then plans afresh). */
export function decodeLogPosition(text: string | null): LogPosition | undefined {
  if (text === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const log = (parsed as { log?: unknown } | null)?.log;
  if (log === null || typeof log !== 'object' || Array.isArray(log)) return undefined;
  const partitions: Record<string, PartitionRange> = {};
  for (const [partition, range] of Object.entries(log as Record<string, unknown>)) {
    const { start, next, end } = (range ?? {}) as Record<string, unknown>;
    if (!/^[0-9]+$/.test(partition) || ![start, next, end].every((offset) => typeof offset === 'string' && OFFSET.test(offset))) return undefined;
    if (!(BigInt(start as string) <= BigInt(next as string) && BigInt(next as string) <= BigInt(end as string))) return undefined;
    partitions[partition] = { start: start as string, next: next as string, end: end as string };
  }
  return { partitions };
}
