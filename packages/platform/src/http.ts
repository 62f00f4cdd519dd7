import express, { type RequestHandler } from 'express';
import { BadRequest, UnsupportedMediaType } from './problem';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const MAX_DEPTH = 32;

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let deepest = depth;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, depthOf(child, limit, depth + 1));
    if (deepest > limit) break;
  }
  return deepest;
}

/**
 * JSON bodies only: 415 for another content type, 400 for malformed JSON, invalid UTF-8 or JSON nested
 * deeper than MAX_DEPTH, 413 past `limitBytes` (through the problem middleware).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return next(new UnsupportedMediaType());
    next();
  };
  const limitDepth: RequestHandler = (req, _res, next) => {
    if (req.body !== undefined && depthOf(req.body, MAX_DEPTH) > MAX_DEPTH) return next(new BadRequest(`JSON nested deeper than ${MAX_DEPTH} levels.`));
    next();
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const strictUtf8 = (_req: unknown, _res: unknown, buffer: Buffer) => {
    try {
      utf8.decode(buffer);
    } catch {
      throw Object.assign(new Error('The body is not valid UTF-8.'), { type: 'entity.verify.failed' });
    }
  };
  return [requireJson, express.json({ limit: limitBytes, strict: false, type: () => true, verify: strictUtf8 }), limitDepth];
}
