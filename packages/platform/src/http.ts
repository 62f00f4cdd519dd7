import { isUtf8 } from 'node:buffer';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { BadRequest, HttpProblem, UnsupportedMediaType, ValidationFailed } from './problem';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const MAX_DEPTH = 32;

/**
 * Why a string cannot be stored, if it cannot: U+0000, which PostgreSQL (text and jsonb) refuses, or text that
 * is not well-formed Unicode (a lone UTF-16 surrogate such as "\ud800", which JSON.parse makes of an escaped
 * \ud800): it has no UTF-8 form, so jsonb refuses it and a text column would silently get U+FFFD instead.
 * Either, accepted, would be refused later by the projection that must record it.
 */
export function textProblem(text: string): 'nul' | 'ill-formed' | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (!text.isWellFormed()) return 'ill-formed';
  return undefined;
}

/** What makes a parsed JSON value unfit to take: nesting deeper than MAX_DEPTH, or a string or key textProblem refuses. */
export function jsonShapeProblem(value: unknown, depth = 0): 'depth' | 'nul' | 'ill-formed' | undefined {
  if (typeof value === 'string') return textProblem(value);
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DEPTH) return 'depth';
  if (Array.isArray(value)) {
    for (const child of value) {
      const problem = jsonShapeProblem(child, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const problem = textProblem(key) ?? jsonShapeProblem(child, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** How the API words a textProblem. */
export const textProblemMessages = {
  nul: 'must not contain the NUL character (\\u0000)',
  'ill-formed': 'must be well-formed Unicode: no lone UTF-16 surrogate (such as \\ud800)',
} as const satisfies Record<NonNullable<ReturnType<typeof textProblem>>, string>;

/**
 * JSON bodies only: 415 for another content type, 400 for malformed JSON, invalid UTF-8 or JSON nested
 * deeper than MAX_DEPTH, 422 for U+0000 or a lone surrogate in a string or key, 413 past `limitBytes` (through the
 * problem middleware).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return next(new UnsupportedMediaType());
    next();
  };
  const checkShape: RequestHandler = (req, _res, next) => {
    const problem = req.body === undefined ? undefined : jsonShapeProblem(req.body);
    switch (problem) {
      case undefined:
        return next();
      case 'depth':
        return next(new BadRequest(`JSON nested deeper than ${MAX_DEPTH} levels.`));
      case 'nul':
      case 'ill-formed':
        return next(new ValidationFailed([{ field: '(body)', message: textProblemMessages[problem] }]));
      default: {
        const unknown: never = problem;
        return next(new Error(`unknown body problem ${String(unknown)}`));
      }
    }
  };
  const strictUtf8 = (_req: unknown, _res: unknown, buffer: Buffer) => {
    if (!isUtf8(buffer)) throw Object.assign(new Error('The body is not valid UTF-8.'), { type: 'entity.verify.failed' });
  };
  return [requireJson, express.json({ limit: limitBytes, strict: false, type: () => true, verify: strictUtf8 }), checkShape];
}

type RouteLayer = { route?: { methods: Record<string, boolean> }; match: (path: string) => unknown };

/** The methods `app` serves on `path`, read from its own route table (so it cannot drift from the routes). */
export function allowedMethods(app: Express | Router, path: string): string[] {
  const methods = new Set<string>();
  // (an application's routes are on its router; a router's on itself)
  const router = ('router' in app && app.router ? app.router : app) as unknown as { stack: RouteLayer[] };
  for (const layer of router.stack) {
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
export function methodNotAllowed(app: Express | Router): RequestHandler {
  return (req, res, next) => {
    const allowed = allowedMethods(app, req.path);
    if (allowed.length === 0) return next();
    res.setHeader('Allow', allowed.join(', '));
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    // (through the error middleware, which answers in the shape of the path's API)
    next(new HttpProblem(405, 'Method Not Allowed', `${req.method} is not served on ${req.originalUrl.split('?')[0]}; allowed: ${allowed.join(', ')}.`));
  };
}
