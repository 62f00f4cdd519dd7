import type { Logger } from './logger';
import { within } from './within';

/**
 * One place that stops a service in order (runService calls it on SIGTERM/SIGINT): handlers run in the order they were added
 * (HTTP close → stop consumers → flush producers → close pools), each bounded in time.
 */
export class ShutdownManager {
  private readonly handlers: { name: string; run: () => Promise<void> }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly handlerTimeoutMs = 10_000,
  ) {}

  add(name: string, run: () => Promise<void>): void {
    this.handlers.push({ name, run });
  }

  /** Runs every handler once; later calls wait for the first. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const handler of this.handlers) {
        const started = Date.now();
        try {
          await within(this.handlerTimeoutMs, handler.run(), 'did not finish');
        } catch (error) {
          this.log.warn({ err: error, handler: handler.name }, 'shutdown handler failed');
        } finally {
          this.log.debug({ handler: handler.name, ms: Date.now() - started }, 'shutdown step done');
        }
      }
    })();
    return this.stopping;
  }
}
