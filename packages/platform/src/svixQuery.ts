import { parseSvixQuery, type SvixQueryOperation } from '@hookpost/contracts';
import { ValidationFailed } from './problem';

/** An operation's query as the OpenAPI document states it, defaults filled; a value outside it is a 422 naming the parameter. */
export function svixQuery<Op extends SvixQueryOperation>(operation: Op, raw: Readonly<Record<string, unknown>>) {
  const parsed = parseSvixQuery(operation, raw);
  if (!parsed.ok) throw new ValidationFailed(parsed.errors, 'A query parameter is outside its schema.');
  return parsed.query;
}

// (Date.UTC maps years 0-99 to 1900-1999, so the year is set apart)
const EARLIEST = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A date-time the API took (already checked against its format) as an ISO timestamp PostgreSQL can compare:
 * clamped to the years 1–9999, since a well-formed RFC 3339 time may lie outside what the database stores
 * (year 0000), and such a bound means "since forever" or "until forever" anyway.
 */
export function storableTime(text: string, field: string): string {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ValidationFailed([{ field, message: 'must be an RFC 3339 date-time' }]);
  return new Date(Math.min(Math.max(ms, EARLIEST), LATEST)).toISOString();
}
