import type { ErrorRequestHandler, RequestHandler } from 'express';
import { svixErrorBody, type FieldError } from '@hookpost/contracts';

/** A failure with its HTTP status; one middleware renders every one as application/problem+json (RFC 9457). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = new.target.name;
  }
}

export class BadRequest extends HttpProblem {
  constructor(detail: string) {
    super(400, 'Bad Request', detail);
  }
}
export class NotFound extends HttpProblem {
  constructor(detail = 'No such resource.') {
    super(404, 'Not Found', detail);
  }
}
export class Conflict extends HttpProblem {
  constructor(detail: string) {
    super(409, 'Conflict', detail);
  }
}
export class Gone extends HttpProblem {
  constructor(detail: string) {
    super(410, 'Gone', detail);
  }
}
export class PreconditionFailed extends HttpProblem {
  constructor(detail: string) {
    super(412, 'Precondition Failed', detail);
  }
}
export class PayloadTooLarge extends HttpProblem {
  constructor(limitBytes: number) {
    super(413, 'Payload Too Large', `The body is larger than ${limitBytes} bytes.`);
  }
}
export class UnsupportedMediaType extends HttpProblem {
  constructor() {
    super(415, 'Unsupported Media Type', 'Send the body as application/json.');
  }
}
export class ValidationFailed extends HttpProblem {
  constructor(errors: FieldError[], detail = 'The body does not match the schema.') {
    super(422, 'Unprocessable Content', detail, { errors });
  }
}
export class ServiceUnavailable extends HttpProblem {
  constructor(detail: string, readonly retryAfterSeconds = 5) {
    super(503, 'Service Unavailable', detail);
  }
}

export function problemBody(problem: HttpProblem) {
  return {
    type: `https://hookpost.dev/problems/${problem.status}`,
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...problem.extra,
  };
}

export function sendProblem(res: Parameters<RequestHandler>[1], problem: HttpProblem): void {
  if (problem instanceof ServiceUnavailable) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problemBody(problem)));
}

/**
 * The same failure in the Svix API's error shape (`{code, detail}`, or `{detail: [{loc, msg, type}]}` for a
 * 422), which Svix's clients parse into their own exceptions.
 */
export function sendSvixProblem(res: Parameters<RequestHandler>[1], problem: HttpProblem): void {
  if (problem instanceof ServiceUnavailable) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  const fields = Array.isArray(problem.extra.errors) ? (problem.extra.errors as FieldError[]) : undefined;
  // A problem may name its Svix error code (`extra.code`); otherwise the status picks one.
  const code = typeof problem.extra.code === 'string' ? problem.extra.code : undefined;
  res.status(problem.status).type('application/json').send(JSON.stringify(svixErrorBody(problem.status, problem.title, problem.detail, fields, code)));
}

/** Body-parser errors carry a `type`; map them to the contract's statuses rather than a 500. */
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

/** The request's whole path, wherever a router is mounted. */
const pathOf = (req: { originalUrl: string }) => req.originalUrl.split('?')[0]!;

/** Paths answered in the Svix API's error shape rather than application/problem+json. */
export const isSvixPath = (path: string) => path === '/api/v1' || path.startsWith('/api/v1/');

export function problemMiddleware(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const send = isSvixPath(pathOf(req)) ? sendSvixProblem : sendProblem;
    const problem = error instanceof HttpProblem ? error : fromBodyParserError(error);
    if (problem) return send(res, problem);
    log.error({ err: error }, 'unhandled error');
    send(res, new HttpProblem(500, 'Internal Server Error', 'Something went wrong on our side.'));
  };
}

export const notFoundRoute: RequestHandler = (req, res) => {
  (isSvixPath(pathOf(req)) ? sendSvixProblem : sendProblem)(res, new NotFound(`No route for ${req.method} ${req.path}.`));
};
