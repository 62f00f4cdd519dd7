import express from 'express';
import { metricsRoute, notFoundRoute, problemMiddleware, type Logger, type Registry } from '@hookpost/platform';

/** The dispatcher's own small HTTP surface: liveness, readiness and metrics. */
export function buildDispatcherApp(deps: { log: Logger; ready: () => Promise<boolean>; metrics: Registry; metricsToken?: string }) {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsRoute(deps.metrics, deps.metricsToken));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });
  app.use(notFoundRoute);
  app.use(problemMiddleware(deps.log));
  return app;
}
