import { readFile } from 'node:fs/promises';
import { verify, WebhookVerificationError } from '@hookpost/signing';
import { intOption, stringOption } from '../commandLine';
import { readStdin, type Context, type Handler } from '../context';
import { UsageError, VerificationFailed } from '../errors';
import { json, shortTime } from '../output';

/**
 * `verify`: checks a captured webhook the way a receiver should — on the raw body, byte for byte, with the
 * Standard Webhooks headers — using @hookpost/signing, the code Hookpost signs with.
 */

export type Headers = Record<string, string>;

/** `name: value` lines (a curl -D dump, a copy from a request inspector), or a JSON object of names to values. */
export function parseHeaders(text: string, source: string): Headers {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`${source}: not a JSON object: ${(error as Error).message}`);
    }
    const headers: Headers = {};
    for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
      const first = Array.isArray(raw) ? raw[0] : raw;
      if (typeof first === 'string' || typeof first === 'number') headers[name.toLowerCase()] = String(first);
    }
    return headers;
  }
  const headers: Headers = {};
  for (const line of trimmed.split(/\r?\n/)) {
    if (line.trim() === '' || /^[A-Z]+ \S+ HTTP\/\d/.test(line) || /^HTTP\/\d/.test(line)) continue;
    headers[headerName(line, source)] = line.slice(line.indexOf(':') + 1).trim();
  }
  return headers;
}

function headerName(line: string, source: string): string {
  const at = line.indexOf(':');
  if (at <= 0) throw new UsageError(`${source}: not a header line ("name: value"): ${JSON.stringify(line.slice(0, 80))}`);
  return line.slice(0, at).trim().toLowerCase();
}

/**
 * A whole captured request: an optional request line, header lines, an empty line, then the body exactly as
 * sent (CRLF or LF line ends in the head; the body is not touched).
 */
export function parseCapturedRequest(raw: Buffer, source: string): { headers: Headers; body: Buffer } {
  const text = raw.toString('latin1');
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const [end, gap] = crlf !== -1 && (lf === -1 || crlf < lf) ? [crlf, 4] : lf !== -1 ? [lf, 2] : [-1, 0];
  if (end === -1) throw new UsageError(`${source}: no empty line between the headers and the body`);
  return { headers: parseHeaders(raw.subarray(0, end).toString('utf8'), source), body: raw.subarray(end + gap) };
}

/** Later sources win: the captured request, then --headers, then each -H, then --id/--timestamp/--signature. */
export function mergeHeaders(...sources: (Headers | undefined)[]): Headers {
  return Object.assign({}, ...sources.filter((source) => source !== undefined)) as Headers;
}

async function readInput(context: Context, path: string, what: string): Promise<Buffer> {
  if (path === '-') return readStdin(context.io);
  try {
    return await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export const verifyWebhook: Handler = async (context, _args, options) => {
  const key = stringOption(options.secret) ?? context.io.env.HOOKPOST_WEBHOOK_SECRET;
  if (!key) throw new UsageError('give the secret: --secret whsec_… (or the public key whpk_…), or HOOKPOST_WEBHOOK_SECRET');
  if (key.startsWith('whsk_')) throw new UsageError('whsk_ is a signing key, which stays with Hookpost: verify with its public key (whpk_…)');

  const requestPath = stringOption(options.request);
  const bodyPath = stringOption(options.body);
  if (requestPath !== undefined && bodyPath !== undefined) throw new UsageError('--request holds the body already: not together with --body');
  const captured = requestPath === undefined ? undefined : parseCapturedRequest(await readInput(context, requestPath, 'request'), requestPath);
  const headersPath = stringOption(options.headers);
  const fromFile = headersPath === undefined ? undefined : parseHeaders((await readInput(context, headersPath, 'headers')).toString('utf8'), headersPath);
  const fromFlags = Object.fromEntries(((options.header as string[] | undefined) ?? []).map((line) => [headerName(line, '-H'), line.slice(line.indexOf(':') + 1).trim()]));
  const id = stringOption(options.id);
  const timestamp = stringOption(options.timestamp);
  const signature = stringOption(options.signature);
  const headers = mergeHeaders(captured?.headers, fromFile, fromFlags, {
    ...(id !== undefined ? { 'webhook-id': id } : {}),
    ...(timestamp !== undefined ? { 'webhook-timestamp': timestamp } : {}),
    ...(signature !== undefined ? { 'webhook-signature': signature } : {}),
  });

  let body: Buffer;
  if (captured) body = captured.body;
  else if (bodyPath !== undefined) body = await readInput(context, bodyPath, 'body');
  else if (!context.io.stdinIsTTY) body = await readStdin(context.io);
  else throw new UsageError('no body: give --body <file>, --request <file>, or pipe the body to stdin');

  const tolerance = options['ignore-timestamp'] === true ? Number.POSITIVE_INFINITY : (intOption(options.tolerance, 'tolerance', { min: 0, max: 10 * 365 * 86_400 }) ?? 300);
  const now = context.io.now();
  let bodyIsJson = true;
  try {
    verify(key, body.toString('utf8'), headers, { now, toleranceSeconds: tolerance });
  } catch (error) {
    // verify() parses the body only once a signature matched: a SyntaxError means "signed, but not JSON".
    if (error instanceof SyntaxError) bodyIsJson = false;
    else if (error instanceof WebhookVerificationError) throw new VerificationFailed(error.message);
    else throw error;
  }
  const signedAt = new Date(Number(headers['webhook-timestamp']) * 1000).toISOString();
  const scheme = key.startsWith('whpk_') ? 'v1a (ed25519)' : 'v1 (HMAC-SHA256)';
  context.out(
    context.json
      ? json({ verified: true, id: headers['webhook-id'], timestamp: signedAt, scheme, bodyIsJson })
      : `Signature verified: ${headers['webhook-id']}, signed ${shortTime(signedAt)}, ${scheme}${bodyIsJson ? '' : ' (the body is not JSON)'}.`,
  );
};
