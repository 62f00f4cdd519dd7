import type { FieldError } from '../validation';

/**
 * Svix's error bodies, which its clients parse (every 4xx body as JSON): `{code, detail}` (HttpErrorOut) for
 * every status but 422, and `{detail: [{loc, msg, type}]}` (HTTPValidationError) for 422, where `loc` is the
 * path to the value — ["body", "url"], ["query", "limit"], ["body", "channels", "[0]"] — as Svix writes it.
 */

export const httpErrorOutSchema = {
  $id: 'HttpErrorOut',
  type: 'object',
  additionalProperties: false,
  required: ['code', 'detail'],
  properties: { code: { type: 'string' }, detail: { type: 'string' } },
} as const;
export type HttpErrorOut = { code: string; detail: string };

export const httpValidationErrorSchema = {
  $id: 'HTTPValidationError',
  type: 'object',
  additionalProperties: false,
  required: ['detail'],
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['loc', 'msg', 'type'],
        properties: { loc: { type: 'array', items: { type: 'string' } }, msg: { type: 'string' }, type: { type: 'string' } },
      },
    },
  },
} as const;
export type ValidationErrorItem = { loc: string[]; msg: string; type: string };
export type HttpValidationError = { detail: ValidationErrorItem[] };

export type SvixErrorBody = HttpErrorOut | HttpValidationError;

/** Svix's codes where its server names them (generic_error, authentication_failed, not_found, conflict, server_error, not_implemented); ours otherwise. */
export function svixErrorCode(status: number): string {
  switch (status) {
    case 400:
      return 'generic_error';
    case 401:
      return 'authentication_failed';
    case 403:
      return 'insufficient_access';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 412:
      return 'precondition_failed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'validation';
    case 429:
      return 'rate_limited';
    case 501:
      return 'not_implemented';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'server_error' : 'generic_error';
  }
}

const LOCATIONS = new Set(['body', 'query', 'path', 'header']);

/**
 * Where a FieldError points, as Svix's `loc`: `body.url`, `url`, `/url` (a JSON Pointer, as ajv's
 * instancePath) and `(body)` are in the body; `query.limit`, `path.app_id`, `header.idempotency-key` name their
 * place. Array indexes read as Svix writes them ("[0]").
 */
export function svixLocation(field: string): string[] {
  if (field === '' || field === '(body)') return ['body'];
  const segments = field.startsWith('/')
    ? field.slice(1).split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    : field.split('.');
  const [first, ...rest] = segments;
  const located = first !== undefined && LOCATIONS.has(first) && !field.startsWith('/') ? [first, ...rest] : ['body', ...segments];
  return located.map((segment, at) => (at > 0 && /^[0-9]+$/.test(segment) ? `[${segment}]` : segment));
}

/**
 * The body Svix's clients expect for an error, from the fields of our problem: 422 lists the fields (or, with
 * none named, the detail as one item about the body); any other status is `{code, detail}`, with `code`
 * from svixErrorCode unless the caller names one (a conflict on a uid, say).
 */
export function svixErrorBody(status: number, title: string, detail?: string, fieldErrors?: readonly FieldError[], code?: string): SvixErrorBody {
  if (status === 422) {
    const items = (fieldErrors ?? []).map((error) => ({ loc: svixLocation(error.field), msg: error.message, type: 'value_error' }));
    return { detail: items.length > 0 ? items : [{ loc: ['body'], msg: detail ?? title, type: 'value_error' }] };
  }
  return { code: code ?? svixErrorCode(status), detail: detail ?? title };
}
