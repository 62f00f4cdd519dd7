import type { Logger } from './logger';

let exitCode = 0;
let runningAsService = false;

/**
 * Stops this process the ordinary way (as SIGTERM does: drained, committed, closed), then exits with `code`.
 * Only a process that runService runs stops itself; a service started inside another (a test) is left to it.
 */
export function stopSelf(code: number): void {
  if (!runningAsService) return;
  exitCode = code;
  process.kill(process.pid, 'SIGTERM');
}

/** Runs a service as a process: start it, stop it on SIGTERM/SIGINT, exit non-zero if it cannot start. */
export function runService(log: Logger, start: () => Promise<{ stop: () => Promise<void> }>): void {
  runningAsService = true;
  start()
    .then((service) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          log.info({ signal }, 'stopping');
          void service.stop().then(() => process.exit(exitCode));
        });
      }
    })
    .catch((error: unknown) => {
      log.fatal({ err: error }, 'failed to start');
      process.exit(1);
    });
}

/**
 * Stops accepting connections and lets the open ones go: a client that keeps its keep-alive connection busy
 * would otherwise hold close() open for as long as it sends. Answers from now on carry Connection: close,
 * and connections are closed as soon as they fall idle (an answer that was already on its way keeps its
 * connection until it is sent).
 */
export function closeServer(server: import('node:http').Server): Promise<void> {
  return new Promise((resolve) => {
    server.prependListener('request', (_req, res) => {
      res.shouldKeepAlive = false;
    });
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
