/** The p-th percentile of values sorted ascending (nearest rank, rounding down); NaN when there are none. */
export const percentile = (sorted: readonly number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
