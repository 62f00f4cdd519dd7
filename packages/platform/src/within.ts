/**
 * Settles like `work`, or rejects after `ms`: readiness checks, shutdown steps and Kafka's acknowledgement
 * must all answer in bounded time even when a dependency hangs. (`work` itself is not cancelled.)
 */
export function within<T>(ms: number, work: Promise<T>, what = 'no answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
