import { isUtf8 } from 'node:buffer';
import express, { type Express, type RequestHandler } from 'express';
import { BadRequest, HttpProblem, sendProblem, UnsupportedMediaType, ValidationFailed } from './problem';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const MAX_DEPTH = 32;

/**
 * What makes a parsed body unfit to take: nesting deeper than MAX_DEPTH, or U+0000 in a string or key, which
 * PostgreSQL (text and jsonb) cannot store: accepted, it would stall the projection that must record it.
 */
function shapeProblem(value: unknown, depth = 0): 'depth' | 'nul' | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? 'nul' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DEPTH) return 'depth';
  if (Array.isArray(value)) {
    for (const child of value) {
      const problem = shapeProblem(child, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000')) return 'nul';
    const problem = shapeProblem(child, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * JSON bodies only: 415 for another content type, 400 for malformed JSON, invalid UTF-8 or JSON nested
 * deeper than MAX_DEPTH, 422 for U+0000 in a string, 413 past `limitBytes` (through the problem middleware).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return next(new UnsupportedMediaType());
    next();
  };
  const checkShape: RequestHandler = (req, _res, next) => {
    const problem = req.body === undefined ? undefined : shapeProblem(req.body);
    if (problem === 'depth') return next(new BadRequest(`JSON nested deeper than ${MAX_DEPTH} levels.`));
    if (problem === 'nul') return next(new ValidationFailed([{ field: '(body)', message: 'must not contain the NUL character (\\u0000)' }]));
    next();
  };
  const strictUtf8 = (_req: unknown, _res: unknown, buffer: Buffer) => {
    if (!isUtf8(buffer)) throw Object.assign(new Error('The body is not valid UTF-8.'), { type: 'entity.verify.failed' });
  };
  return [requireJson, express.json({ limit: limitBytes, strict: false, type: () => true, verify: strictUtf8 }), checkShape];
}

type RouteLayer = { route?: { methods: Record<string, boolean> }; match: (path: string) => unknown };

/** The methods `app` serves on `path`, read from its own route table (so it cannot drift from the routes). */
export function allowedMethods(app: Express, path: string): string[] {
  const methods = new Set<string>();
  for (const layer of (app.router as unknown as { stack: RouteLayer[] }).stack) {
    if (!layer.route) continue;
    let matched: unknown;
    try {
      matched = layer.match(path);
    } catch {
      continue; // a malformed %-escape in the path: not this route
    }
    if (!matched) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') methods.add(method.toUpperCase());
  }
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return [...methods].sort();
}

/**
 * Register after the routes: a path that is served, asked with a method it is not served with, gets 405 with
 * `Allow` (RFC 9110) rather than the 404 of a path that does not exist; OPTIONS gets 204 with `Allow`.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  return (req, res, next) => {
    const allowed = allowedMethods(app, req.path);
    if (allowed.length === 0) return next();
    res.setHeader('Allow', allowed.join(', '));
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    sendProblem(res, new HttpProblem(405, 'Method Not Allowed', `${req.method} is not served on ${req.path}; allowed: ${allowed.join(', ')}.`));
  };
}
