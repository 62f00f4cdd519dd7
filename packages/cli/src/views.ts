import type { ApplicationOut, EndpointOut, ListResponse, MessageAttemptOut, MessageOut } from '@hookpost/contracts';
import { details, httpStatusStyle, list, shortTime, statusStyle, table, truncate, type Column, type Paint } from './output';

/** How each kind of thing the API answers reads as a table row or as details. */

export const applicationColumns: readonly Column<ApplicationOut>[] = [
  { header: 'ID', value: (app) => app.id },
  { header: 'UID', value: (app) => app.uid ?? '' },
  { header: 'NAME', value: (app) => app.name },
  { header: 'CREATED', value: (app) => shortTime(app.createdAt) },
];

export function applicationDetails(app: ApplicationOut, paint: Paint): string {
  return details(
    [
      ['id', app.id],
      ['uid', app.uid ?? ''],
      ['name', app.name],
      ['metadata', metadataText(app.metadata)],
      ['created', shortTime(app.createdAt)],
      ['updated', shortTime(app.updatedAt)],
    ],
    paint,
  );
}

export const endpointColumns: readonly Column<EndpointOut>[] = [
  { header: 'ID', value: (endpoint) => endpoint.id },
  { header: 'UID', value: (endpoint) => endpoint.uid ?? '' },
  { header: 'STATE', value: (endpoint) => (endpoint.disabled ? 'disabled' : 'enabled'), style: (endpoint) => (endpoint.disabled ? 'yellow' : undefined) },
  { header: 'EVENT TYPES', value: (endpoint) => list(endpoint.filterTypes) || '*' },
  { header: 'CHANNELS', value: (endpoint) => list(endpoint.channels) || '*' },
  { header: 'URL', value: (endpoint) => endpoint.url },
];

export function endpointDetails(endpoint: EndpointOut, paint: Paint): string {
  return details(
    [
      ['id', endpoint.id],
      ['uid', endpoint.uid ?? ''],
      ['url', endpoint.url],
      ['state', endpoint.disabled ? 'disabled' : 'enabled'],
      ['description', endpoint.description ?? ''],
      ['event types', list(endpoint.filterTypes) || '* (every type)'],
      ['channels', list(endpoint.channels) || '* (every channel)'],
      ['metadata', metadataText(endpoint.metadata)],
      ['created', shortTime(endpoint.createdAt)],
      ['updated', shortTime(endpoint.updatedAt)],
    ],
    paint,
  );
}

export const messageColumns: readonly Column<MessageOut>[] = [
  { header: 'ID', value: (message) => message.id },
  { header: 'EVENT TYPE', value: (message) => message.eventType },
  { header: 'EVENT ID', value: (message) => message.eventId ?? '' },
  { header: 'CHANNELS', value: (message) => list(message.channels) },
  { header: 'TIME', value: (message) => shortTime(message.timestamp) },
];

export function messageDetails(message: MessageOut, paint: Paint): string {
  return details(
    [
      ['id', message.id],
      ['event type', message.eventType],
      ['event id', message.eventId ?? ''],
      ['channels', list(message.channels)],
      ['tags', list(message.tags)],
      ['time', shortTime(message.timestamp)],
      ['payload', JSON.stringify(message.payload)],
    ],
    paint,
  );
}

export const attemptColumns: readonly Column<MessageAttemptOut>[] = [
  { header: 'TIME', value: (attempt) => shortTime(attempt.timestamp) },
  { header: 'STATUS', value: (attempt) => attempt.statusText, style: (attempt) => statusStyle(attempt.statusText) },
  { header: 'CODE', value: (attempt) => (attempt.responseStatusCode === 0 ? '-' : String(attempt.responseStatusCode)), style: (attempt) => httpStatusStyle(attempt.responseStatusCode) },
  { header: 'MS', value: (attempt) => String(attempt.responseDurationMs) },
  { header: 'TRIGGER', value: (attempt) => (attempt.triggerType === 1 ? 'manual' : 'scheduled') },
  { header: 'MESSAGE', value: (attempt) => attempt.msgId },
  { header: 'ENDPOINT', value: (attempt) => attempt.endpointId },
  { header: 'RESPONSE', value: (attempt) => truncate(attempt.response.trim(), 60) },
];

/** One attempt as one line, as it happens (tail). */
export function attemptLine(attempt: MessageAttemptOut, paint: Paint): string {
  const code = attempt.responseStatusCode === 0 ? 'no answer' : String(attempt.responseStatusCode);
  const eventType = attempt.msg?.eventType;
  return [
    paint('dim', shortTime(attempt.timestamp)),
    paint(statusStyle(attempt.statusText), attempt.statusText.padEnd(7)),
    paint(httpStatusStyle(attempt.responseStatusCode), code.padEnd(3)),
    `${String(attempt.responseDurationMs).padStart(5)} ms`,
    ...(eventType ? [paint('cyan', eventType)] : []),
    `${attempt.msgId} → ${attempt.endpointId}`,
    ...(attempt.triggerType === 1 ? [paint('dim', '(manual)')] : []),
    paint('dim', attempt.url),
  ].join('  ');
}

function metadataText(metadata: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(metadata ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/** A page as a table, and where the next one starts (on stderr, so a pipe reads only rows). */
export function pageText<Item>(page: ListResponse<Item>, columns: readonly Column<Item>[], paint: Paint): { table: string; more?: string } {
  return {
    table: table(page.data, columns, paint),
    ...(page.done || !page.iterator ? {} : { more: `more: add --iterator ${page.iterator} (or --all)` }),
  };
}
