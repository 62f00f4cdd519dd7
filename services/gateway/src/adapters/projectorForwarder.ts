import type { Request, Response } from 'express';
import { Pool } from 'undici';
import { HttpProblem, sendProblem, type Logger } from '@hookpost/platform';

/** What a read's answer keeps on its way back: its type, a subscription's version, when to retry a 503. */
const FORWARDED_ANSWER_HEADERS = ['content-type', 'etag', 'retry-after'] as const;

/** Forwards public read requests to the projector's read API, unchanged, over a keep-alive pool. */
export class ProjectorForwarder {
  private readonly pool: Pool;

  constructor(
    projectorUrl: string,
    private readonly log: Logger,
  ) {
    this.pool = new Pool(projectorUrl, { connections: 32, headersTimeout: 15_000, bodyTimeout: 15_000 });
  }

  /** `authorization`, when given, goes instead of the request's own (a dashboard request, which has none). */
  async forward(req: Request, res: Response, authorization?: string): Promise<void> {
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      const credential = authorization ?? req.headers.authorization;
      if (credential) headers.authorization = credential;
      const answer = await this.pool.request({ method: 'GET', path: req.originalUrl, headers });
      res.status(answer.statusCode);
      for (const name of FORWARDED_ANSWER_HEADERS) {
        const value = answer.headers[name];
        if (typeof value === 'string') res.setHeader(name, value);
      }
      res.send(Buffer.from(await answer.body.arrayBuffer()));
    } catch (error) {
      this.log.error({ err: error }, 'projector unreachable');
      const problem = new HttpProblem(503, 'Service Unavailable', 'The read model is unreachable; try again shortly.');
      res.setHeader('Retry-After', '5');
      sendProblem(res, problem);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
