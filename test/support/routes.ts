import type { Express, Router } from 'express';
import { createLogger, prometheus } from '@hookpost/platform';
import { buildGatewayApp, type GatewayDeps } from '../../services/gateway/src/app';
import { buildProjectorApp } from '../../services/projector/src/app';

export type RouteSpec = Readonly<{ method: string; path: string }>;

type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; handle: { stack?: Layer[] }; rawPath?: unknown };

/** Every route an Express app (or router) serves, with its full path, read from its router stack. */
export function routesOf(app: Express | Router, prefix = ''): RouteSpec[] {
  const stack = ('router' in app ? (app.router as unknown as { stack: Layer[] }) : (app as unknown as { stack: Layer[] })).stack;
  const routes: RouteSpec[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const path of paths) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') routes.push({ method: method.toUpperCase(), path: `${prefix}${path}` });
      }
    } else if (layer.handle.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      routes.push(...routesOf(layer.handle as unknown as Router, `${prefix}${mount}`));
    }
  }
  return routes;
}

/**
 * The routes the gateway and the projector serve, from the apps themselves (built with inert dependencies:
 * building an app calls none of them), so a walk over them covers a route added later without being told.
 */
export function servedRoutes(): { gateway: RouteSpec[]; projector: RouteSpec[] } {
  const log = createLogger('routes', 'silent');
  const inert = {} as never;
  const gateway = buildGatewayApp({
    log,
    metrics: new prometheus.Registry(),
    apiKeys: ['inert-key-0123456789'],
    maxBodyBytes: 1_024,
    topicPrefix: '',
    svix: inert,
    decide: inert,
    auth: { scopes: inert },
  } as unknown as GatewayDeps);
  const projector = buildProjectorApp({
    log,
    metrics: new prometheus.Registry(),
    apiKeys: ['inert-key-0123456789'],
    serviceCredentials: [],
    queries: inert,
    svixQueries: inert,
    ready: async () => true,
    readAfterWrites: async () => undefined,
    applicationScopes: inert,
    payloadKeys: inert,
  });
  return { gateway: routesOf(gateway), projector: routesOf(projector) };
}
