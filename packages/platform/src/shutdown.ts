import type { Logger } from './logger';

/**
 * One place that stops a service in order on SIGTERM/SIGINT: handlers run in the order they were added
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
        let timer: NodeJS.Timeout | undefined;
        const started = Date.now();
        try {
          await Promise.race([
            handler.run(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${this.handlerTimeoutMs} ms`)), this.handlerTimeoutMs);
            }),
          ]);
        } catch (error) {
          this.log.warn({ err: error, handler: handler.name }, 'shutdown handler failed');
        } finally {
          clearTimeout(timer);
          this.log.debug({ handler: handler.name, ms: Date.now() - started }, 'shutdown step done');
        }
      }
    })();
    return this.stopping;
  }

  listen(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.log.info({ signal }, 'shutting down');
        void this.stop().then(() => process.exit(0));
      });
    }
  }
}
