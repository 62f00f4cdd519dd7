/** Pure arithmetic for bench/kafkaClients.ts: CPU per message, a process's CPU from /proc, ranges over runs. */

/** User+system CPU a process used, in µs, between two process.cpuUsage() readings. */
export const cpuMicros = (before: NodeJS.CpuUsage, after: NodeJS.CpuUsage): number => after.user - before.user + (after.system - before.system);

/**
 * utime+stime, in clock ticks, from the text of /proc/<pid>/stat. The command name (field 2) is in parentheses
 * and may hold spaces or parentheses itself, so fields are counted from the last ')'.
 */
export function procStatTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return utime + stime;
}

/** Clock ticks to µs. */
export const ticksToMicros = (ticks: number, ticksPerSecond: number): number => (ticks * 1_000_000) / ticksPerSecond;

/** µs per message; NaN when no message was counted (an idle window is reported per second instead). */
export const perMessage = (micros: number, messages: number): number => (messages > 0 ? micros / messages : NaN);

export type Range = { min: number; max: number; median: number };

/** Lowest, highest and median of the runs' figures (NaNs left out); undefined when there is none. */
export function range(values: readonly number[]): Range | undefined {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, max: sorted[sorted.length - 1]!, median };
}

/** "min–max" with `digits` decimals, or one figure when every run gave the same; '–' when there is none. */
export function formatRange(found: Range | undefined, digits = 0): string {
  if (!found) return '–';
  const low = found.min.toFixed(digits);
  const high = found.max.toFixed(digits);
  return low === high ? low : `${low}–${high}`;
}

/** How much less `candidate` is than `baseline`, as a fraction of baseline (0.4 = 40 % less; negative = more). */
export const saving = (baseline: number, candidate: number): number => (baseline - candidate) / baseline;
