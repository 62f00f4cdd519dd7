/**
 * What can go wrong, each with the exit status it ends the process with (README, "CLI": exit statuses). One
 * line says what happened and, where there is one, what to do; no stack trace.
 */

export const exitCodes = {
  ok: 0,
  /** Hookpost answered an error (4xx other than 401, 5xx), or something else failed. */
  failed: 1,
  /** The command line is wrong: unknown command or option, missing argument, unreadable input. */
  usage: 2,
  /** Hookpost could not be reached: connection refused, unknown host, no answer in time. */
  unreachable: 3,
  /** Not logged in, or the API key was refused (401). */
  unauthenticated: 4,
  /** `verify`: the signature does not match, or the headers or timestamp are wrong. */
  verificationFailed: 5,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Machine-readable details for `--json` (an API error's status and code, ...). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, exitCodes.usage);
  }
}

export class NotLoggedIn extends CliError {
  constructor() {
    super('not logged in: run `hookpost login`, or set HOOKPOST_URL and HOOKPOST_API_KEY', exitCodes.unauthenticated);
  }
}

/** Hookpost answered with an error status; `detail` is its own words, made one line. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(apiErrorLine(status, code, detail), status === 401 ? exitCodes.unauthenticated : exitCodes.failed, { status, ...(code ? { code } : {}), detail });
  }
}

function apiErrorLine(status: number, code: string | undefined, detail: string): string {
  const tag = `HTTP ${status}${code ? ` ${code}` : ''}`;
  if (status === 401) return `the API key was refused (${tag}): ${detail} — run \`hookpost login\` again`;
  return `${detail} (${tag})`;
}

export class Unreachable extends CliError {
  constructor(message: string, reason: string) {
    super(message, exitCodes.unreachable, { reason });
  }
}

export class VerificationFailed extends CliError {
  constructor(reason: string) {
    super(`signature not verified: ${reason}`, exitCodes.verificationFailed, { reason });
  }
}

/**
 * An error body as one line: Svix's `{code, detail}` (detail text) or `{detail: [{loc, msg}]}` (422), the seed
 * API's problem+json `{title, detail, errors: [{field, message}]}`, or whatever text came.
 */
export function errorBodyDetail(status: number, body: unknown): { code?: string; detail: string } {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const code = typeof record.code === 'string' ? record.code : undefined;
    if (Array.isArray(record.detail)) {
      const places = record.detail.map((item) => {
        const { loc, msg } = (item ?? {}) as { loc?: unknown; msg?: unknown };
        const where = Array.isArray(loc) ? loc.filter((part) => part !== 'body').join('.') : '';
        return `${where ? `${where}: ` : ''}${typeof msg === 'string' ? msg : 'invalid'}`;
      });
      return { code: code ?? 'validation', detail: oneLine(places.join('; ') || 'the request was refused') };
    }
    if (Array.isArray(record.errors) && record.errors.length > 0) {
      const places = record.errors.map((item) => {
        const { field, message } = (item ?? {}) as { field?: unknown; message?: unknown };
        return `${typeof field === 'string' && field ? `${field}: ` : ''}${typeof message === 'string' ? message : 'invalid'}`;
      });
      return { code, detail: oneLine(places.join('; ')) };
    }
    const detail = typeof record.detail === 'string' ? record.detail : typeof record.title === 'string' ? record.title : undefined;
    if (detail) return { code, detail: oneLine(detail) };
  }
  if (typeof body === 'string' && body.trim()) return { detail: oneLine(body.trim()).slice(0, 300) };
  return { detail: `Hookpost answered ${status} without a reason` };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Why a request did not reach Hookpost, from what fetch threw (undici puts the system error in `cause`).
 * `url` is the base URL the user configured, named so they can check it.
 */
export function unreachable(error: unknown, url: string, timeoutMs: number): Unreachable {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { name?: string })?.name === 'TimeoutError' ? 'TIMEOUT' : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return new Unreachable(`cannot connect to ${url}: connection refused. Is Hookpost running there (\`npm start\`)? Check the URL with \`hookpost login\``, code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Unreachable(`cannot connect to ${url}: its host name does not resolve (${code})`, code);
    case 'TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new Unreachable(`${url} did not answer within ${Math.round(timeoutMs / 1000)} s`, code);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return new Unreachable(`the connection to ${url} was closed before Hookpost answered (${code})`, code);
    default: {
      const reason = typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error);
      return new Unreachable(`cannot connect to ${url}: ${reason}`, code ?? 'UNKNOWN');
    }
  }
}
