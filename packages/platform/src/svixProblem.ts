import type { ErrorRequestHandler, RequestHandler } from 'express';
import { svixErrorBody, type FieldError } from '@hookpost/contracts';
import { BadRequest, HttpProblem, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType } from './problem';

/**
 * The error middleware of the Svix v1 API (/api/v1): the same HttpProblem classes as the rest of the gateway,
 * rendered in the shape Svix's clients parse (svixErrorBody: `{code, detail}`, or `{detail: [{loc, msg, type}]}`
 * for 422) as application/json. A 503 keeps its Retry-After. A problem may name its Svix code in
 * `extra.code`; a 422 lists `extra.errors` (the FieldErrors of ValidationFailed).
 */
export function sendSvixProblem(res: Parameters<RequestHandler>[1], problem: HttpProblem): void {
  if (problem instanceof ServiceUnavailable) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  const errors = Array.isArray(problem.extra.errors) ? (problem.extra.errors as FieldError[]) : undefined;
  const code = typeof problem.extra.code === 'string' ? problem.extra.code : undefined;
  res.status(problem.status).type('application/json').send(JSON.stringify(svixErrorBody(problem.status, problem.title, problem.detail, errors, code)));
}

/**
 * Body-parser errors carry a `type`. The same mapping as problemMiddleware's (problem.ts keeps it private;
 * exporting it there would let this copy go).
 */
function fromBodyParserError(error: { type?: string; status?: number; limit?: number }): HttpProblem | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new BadRequest('The body is not valid JSON.');
    case 'entity.verify.failed':
      return new BadRequest('The body is not valid UTF-8.');
    case 'entity.too.large':
      return new PayloadTooLarge(error.limit ?? 0);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType();
    case 'request.aborted':
      return new BadRequest('The request was aborted.');
    default:
      return error.status && error.status >= 400 && error.status < 500 ? new HttpProblem(error.status, 'Bad Request', 'The request could not be read.') : undefined;
  }
}

export function svixProblemMiddleware(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const problem = error instanceof HttpProblem ? error : fromBodyParserError(error ?? {});
    if (problem) return sendSvixProblem(res, problem);
    log.error({ err: error }, 'unhandled error');
    sendSvixProblem(res, new HttpProblem(500, 'Internal Server Error', 'Something went wrong on our side.'));
  };
}

/** What /api/v1 answers for a path it does not serve. */
export const svixNotFoundRoute: RequestHandler = (req, res) => {
  sendSvixProblem(res, new NotFound(`No route for ${req.method} ${req.path}.`));
};
