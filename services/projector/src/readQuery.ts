import { deliveryStatuses, isUuid, type DeliveryStatus } from '@hookpost/contracts';
import { BadRequest, jsonShapeProblem, textProblem, textProblemMessages } from '@hookpost/platform';
import { decodeCursor, type Cursor } from './adapters/pgReadQueries';

/**
 * The read API's query parameters, parsed as the OpenAPI document states them (packages/contracts openapi.ts).
 * An empty value is a value: it is checked like any other, so `created_before=` is refused (400) rather than
 * read as "absent" — the document allows the empty string only where it means something (q: no search).
 */

export type Query = Record<string, unknown>;

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`${name} must be given once, as a string.`);
  // PostgreSQL refuses U+0000 in any text parameter, and a lone surrogate has no UTF-8 form: say so rather
  // than fail the query (or match against U+FFFD).
  const problem = textProblem(value);
  if (problem) throw new BadRequest(`${name} ${textProblemMessages[problem]}.`);
  return value;
}

/** Unknown query parameters are a 400, like unknown body fields: a typo must not silently widen a search. */
export function allowOnly(query: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(query).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw new BadRequest(`Unknown query parameter(s): ${unknown.join(', ')}. Allowed: ${allowed.join(', ') || 'none'}.`);
}

export function limitOf(query: Query): number {
  const raw = single(query, 'limit');
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
  return Number(raw);
}

export function cursorOf(query: Query): Cursor | undefined {
  const raw = single(query, 'cursor');
  if (raw === undefined) return undefined;
  const cursor = decodeCursor(raw);
  if (!cursor) throw new BadRequest('cursor is not a next_cursor this API returned.');
  return cursor;
}

export function statusOf(query: Query): DeliveryStatus | undefined {
  const raw = single(query, 'status');
  if (raw === undefined) return undefined;
  if (!(deliveryStatuses as readonly string[]).includes(raw)) throw new BadRequest(`status must be one of ${deliveryStatuses.join(', ')}.`);
  return raw as DeliveryStatus;
}

export function uuidOf(query: Query, name: string): string | undefined {
  const raw = single(query, name);
  if (raw !== undefined && !isUuid(raw)) throw new BadRequest(`${name} must be a UUID.`);
  return raw?.toLowerCase();
}

export function textOf(query: Query, name: string, range: { min: number; max: number }): string | undefined {
  const raw = single(query, name);
  if (raw !== undefined && (raw.length < range.min || raw.length > range.max)) throw new BadRequest(`${name} must have ${range.min} to ${range.max} characters.`);
  return raw;
}

/** payload_contains: a JSON object (the jsonb @> operand); its strings and keys must be well-formed text without U+0000. */
export function jsonObjectOf(query: Query, name: string): object | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new BadRequest(`${name} must be a JSON object.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequest(`${name} must be a JSON object.`);
  // Written as JSON escapes (\u0000, \ud800) these pass single() and appear only once parsed.
  const problem = jsonShapeProblem(value);
  if (problem === 'depth') throw new BadRequest(`${name} is nested too deeply.`);
  if (problem) throw new BadRequest(`${name} ${textProblemMessages[problem]}.`);
  return value;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/**
 * An RFC 3339 date-time (the document's `format: date-time`) as an ISO instant PostgreSQL takes, or undefined
 * if it is not one. A leap second reads as the second before it; instants outside the years 1-9999 are moved
 * to the nearest end (no row is that old or that new, so a filter means the same).
 */
export function parseRfc3339(raw: string): string | undefined {
  const match = RFC3339.exec(raw);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ? Number(`0${match[7]}`) : 0;
  const offsetHours = match[10] === undefined ? 0 : Number(match[10]);
  const offsetMinutes = match[11] === undefined ? 0 : Number(match[11]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute, Math.min(second, 59), Math.floor(fraction * 1000));
  const sign = match[9] === '-' ? -1 : 1;
  const ms = instant.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return new Date(Math.min(LAST_MS, Math.max(FIRST_MS, ms))).toISOString();
}

export function timestampOf(query: Query, name: string): string | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const instant = parseRfc3339(raw);
  if (instant === undefined) throw new BadRequest(`${name} must be an RFC 3339 date-time, e.g. 2024-01-31T12:00:00Z.`);
  return instant;
}
