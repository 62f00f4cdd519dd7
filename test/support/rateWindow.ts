/**
 * Most timestamps (ms) inside any window of `windowMs` that starts at one of them: how a rate limit is checked
 * at a receiver ("at most N + 1 requests in any one second"). Shared by the tests and the bench.
 */
export function mostWithin(times: readonly number[], windowMs = 1_000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[j]! <= sorted[i]! - windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
