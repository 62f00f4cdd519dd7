import type { Logger } from '@hookpost/platform';

/**
 * Retries `step` with backoff (0.2 s doubling to 5 s) until it succeeds or the service is stopping (then the
 * last failure is thrown, and the message being worked on comes back to whoever takes it next). For I/O that
 * comes back: Kafka, RabbitMQ, Redis, the projector.
 */
export async function persistently<T>(what: string, step: () => Promise<T>, deps: { isStopping: () => boolean; log: Logger }): Promise<T> {
  for (let wait = 200; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await step();
    } catch (error) {
      if (deps.isStopping()) throw error;
      deps.log.warn({ err: error, step: what }, 'step failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
