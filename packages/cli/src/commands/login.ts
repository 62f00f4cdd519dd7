import { stringOption } from '../commandLine';
import { normalizeUrl } from '../config';
import { ask, readStdin, type Handler } from '../context';
import { ApiError, CliError, exitCodes, UsageError } from '../errors';
import { HookpostClient } from '../hookpostClient';
import { json } from '../output';

const DEFAULT_URL = 'http://localhost:8000';

/**
 * `login`: the URL (flag, else prompted on a terminal, else HOOKPOST_URL, the stored one or localhost:8000)
 * and the key (flag, else prompted without echo on a terminal, else the first line of stdin), checked with
 * two calls before anything is stored: /api/v1/health (is it Hookpost?) and one read with the key.
 */
export const login: Handler = async (context, _args, options) => {
  const { io } = context;
  const { credentials: stored } = await context.config.read();
  const fallbackUrl = io.env.HOOKPOST_URL || stored?.url || DEFAULT_URL;
  let urlText = stringOption(options.url);
  if (urlText === undefined && io.stdinIsTTY) urlText = (await ask(io, `Hookpost URL [${fallbackUrl}]: `)) || fallbackUrl;
  const url = normalizeUrl(urlText ?? fallbackUrl);

  let apiKey = stringOption(options['api-key']);
  if (apiKey === undefined) {
    apiKey = io.stdinIsTTY ? await ask(io, 'API key (npm start keeps it in .hookpost/api-key): ', { hidden: true }) : (await readStdin(io)).toString('utf8').split(/\r?\n/)[0]!.trim();
  }
  if (!apiKey) throw new UsageError('no API key: give --api-key, type it when asked, or pipe it to stdin');

  const client = new HookpostClient({ url, apiKey }, { userAgent: `hookpost-cli/${context.version}` });
  try {
    await client.health();
  } catch (error) {
    if (error instanceof ApiError) throw new CliError(`${url} does not look like Hookpost: GET /api/v1/health answered ${error.status}`, exitCodes.failed, error.details);
    throw error;
  }
  await client.checkKey();
  await context.config.write({ url, apiKey });
  if (io.env.HOOKPOST_URL || io.env.HOOKPOST_API_KEY) context.note('note: HOOKPOST_URL / HOOKPOST_API_KEY are set in this shell and are used instead of what is stored');
  context.out(context.json ? json({ url, configFile: context.config.path }) : `Logged in to ${url}. Stored in ${context.config.path} (mode 0600).`);
};

export const logout: Handler = async (context) => {
  const removed = await context.config.remove();
  context.out(
    context.json ? json({ removed, configFile: context.config.path }) : removed ? `Logged out: removed ${context.config.path}.` : `Not logged in (no ${context.config.path}).`,
  );
};
