import type { Logger } from './logger';

/** Runs a service as a process: start it, stop it on SIGTERM/SIGINT, exit non-zero if it cannot start. */
export function runService(log: Logger, start: () => Promise<{ stop: () => Promise<void> }>): void {
  start()
    .then((service) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          log.info({ signal }, 'stopping');
          void service.stop().then(() => process.exit(0));
        });
      }
    })
    .catch((error: unknown) => {
      log.fatal({ err: error }, 'failed to start');
      process.exit(1);
    });
}

/** Stops accepting connections and closes idle keep-alive ones, so close() does not wait out their timeout. */
export function closeServer(server: import('node:http').Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
