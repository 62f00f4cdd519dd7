import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time as the API takes it (RFC 3339, UTC): `now`, a duration ago (`90s`, `15m`, `2h`, `3d`,
 * `1w`, combinable: `1h30m`), or an RFC 3339 date-time (a bare date is midnight UTC). `name` is the option,
 * for the error.
 */
export function parseTime(text: string, now: Date, name: string): string {
  const value = text.trim();
  if (value === 'now') return now.toISOString();
  const ago = durationMs(value);
  if (ago !== undefined) return new Date(now.getTime() - ago).toISOString();
  const withTime = /^\d{4}-\d\d-\d\d$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:?\d\d)?$/.test(withTime)) {
    throw new UsageError(`${name}: not a time: ${text} (give e.g. 2025-01-31T12:00:00Z, 2025-01-31, 15m, 2h or 3d)`);
  }
  // (a time without a zone is read as UTC, not as this machine's zone: the API speaks UTC)
  const zoned = /([Zz]|[+-]\d\d:?\d\d)$/.test(withTime) ? withTime : `${withTime}Z`;
  const ms = Date.parse(zoned.replace(' ', 'T'));
  if (Number.isNaN(ms)) throw new UsageError(`${name}: not a time: ${text}`);
  return new Date(ms).toISOString();
}

/** `1h30m` → 5,400,000; undefined when the text is not a duration. */
export function durationMs(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}
