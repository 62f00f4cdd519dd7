import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError, exitCodes, NotLoggedIn } from './errors';

/** Where Hookpost is and the key to call it with: what `hookpost login` stores. */
export type Credentials = Readonly<{ url: string; apiKey: string }>;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The config file: `HOOKPOST_CONFIG` when set; else under the user's config directory — `$XDG_CONFIG_HOME`
 * (or `~/.config`) on Linux and the BSDs, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows —
 * in a `hookpost` directory of its own, so its mode can be 0700 without touching anything else.
 */
export function configPath(env: Env, platform: NodeJS.Platform, home: string): string {
  if (env.HOOKPOST_CONFIG) return env.HOOKPOST_CONFIG;
  const base =
    platform === 'win32'
      ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
          ? env.XDG_CONFIG_HOME
          : path.join(home, '.config');
  return path.join(base, 'hookpost', 'config.json');
}

/** The base URL as stored and used: absolute http(s), no credentials, query or fragment, no trailing slash. */
export function normalizeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new CliError(`not a URL: ${text}`, exitCodes.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`the URL must be http or https: ${text}`, exitCodes.usage);
  if (url.username || url.password) throw new CliError('the URL must not carry a user or password: give the API key with --api-key', exitCodes.usage);
  if (url.search || url.hash) throw new CliError(`the URL must not have a query or fragment: ${text}`, exitCodes.usage);
  return url.toString().replace(/\/+$/, '');
}

/**
 * The credentials to use: HOOKPOST_URL and HOOKPOST_API_KEY override the file one by one (so CI can give a key
 * and keep the stored URL, or the reverse); undefined when neither gives both.
 */
export function resolveCredentials(env: Env, stored: Partial<Credentials> | undefined): Credentials | undefined {
  const url = env.HOOKPOST_URL || stored?.url;
  const apiKey = env.HOOKPOST_API_KEY || stored?.apiKey;
  return url && apiKey ? { url: normalizeUrl(url), apiKey } : undefined;
}

/** Group or others can read or write it: the file holds an API key. */
export function tooOpen(mode: number, platform: NodeJS.Platform): boolean {
  return platform !== 'win32' && (mode & 0o077) !== 0;
}

export type ConfigFile = {
  path: string;
  read: () => Promise<{ credentials?: Partial<Credentials>; warning?: string }>;
  write: (credentials: Credentials) => Promise<void>;
  remove: () => Promise<boolean>;
};

/**
 * The config file on disk. Written whole to a new file (mode 0600, created exclusively, so no umask or earlier
 * file widens it) and renamed over the old one; its directory is made, or narrowed, to 0700.
 */
export function configFile(file: string, platform: NodeJS.Platform = process.platform): ConfigFile {
  const dir = path.dirname(file);
  return {
    path: file,
    async read() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw new CliError(`cannot read ${file}: ${(error as Error).message}`, exitCodes.failed);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(`${file} is not JSON: fix it, or delete it and run \`hookpost login\``, exitCodes.failed);
      }
      const record = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
      const credentials = {
        ...(typeof record.url === 'string' ? { url: record.url } : {}),
        ...(typeof record.apiKey === 'string' ? { apiKey: record.apiKey } : {}),
      };
      const { mode } = await stat(file);
      const warning = tooOpen(mode, platform) ? `${file} can be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it` : undefined;
      return { credentials, ...(warning ? { warning } : {}) };
    },
    async write(credentials) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (platform !== 'win32') await chmod(dir, 0o700);
      const temporary = path.join(dir, `.config.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ url: credentials.url, apiKey: credentials.apiKey }, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },
    async remove() {
      try {
        await rm(file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}

/** The credentials a command calls Hookpost with, or NotLoggedIn; a too-open file is warned about once. */
export async function loadCredentials(file: ConfigFile, env: Env, warn: (line: string) => void): Promise<Credentials> {
  const { credentials, warning } = await file.read();
  if (warning) warn(warning);
  const resolved = resolveCredentials(env, credentials);
  if (!resolved) throw new NotLoggedIn();
  return resolved;
}
