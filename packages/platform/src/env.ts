import { MasterKeyError, parseMasterKeys } from './masterKeys';

/**
 * Parses process.env once, at boot, against a spec; every problem is reported together and the process
 * refuses to start with a clear message. Defaults work on a developer's machine (see docs/configuration.md).
 */

export type EnvSpec<T> = { describe: string; parse: (raw: string | undefined) => T };

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'EnvError';
  }
}

class ValueError extends Error {}

export const envs = {
  string(fallback?: string): EnvSpec<string> {
    return {
      describe: fallback === undefined ? 'string (required)' : `string (default "${fallback}")`,
      parse(raw) {
        const value = raw ?? fallback;
        if (value === undefined || (value === '' && fallback !== '')) throw new ValueError('is required');
        return value;
      },
    };
  },
  int(fallback: number, range: { min?: number; max?: number } = {}): EnvSpec<number> {
    return {
      describe: `integer (default ${fallback})`,
      parse(raw) {
        if (raw === undefined || raw === '') return fallback;
        if (!/^-?\d+$/.test(raw.trim())) throw new ValueError(`must be an integer, got "${raw}"`);
        const value = Number(raw);
        if (range.min !== undefined && value < range.min) throw new ValueError(`must be >= ${range.min}`);
        if (range.max !== undefined && value > range.max) throw new ValueError(`must be <= ${range.max}`);
        return value;
      },
    };
  },
  bool(fallback: boolean): EnvSpec<boolean> {
    return {
      describe: `boolean (default ${fallback})`,
      parse(raw) {
        if (raw === undefined || raw === '') return fallback;
        if (/^(1|true|yes|on)$/i.test(raw)) return true;
        if (/^(0|false|no|off)$/i.test(raw)) return false;
        throw new ValueError(`must be true or false, got "${raw}"`);
      },
    };
  },
  /** Comma-separated list of positive durations in milliseconds, e.g. "0,5000,300000". */
  durations(fallback: readonly number[]): EnvSpec<number[]> {
    return {
      describe: `comma-separated milliseconds (default ${fallback.join(',')})`,
      parse(raw) {
        if (raw === undefined || raw.trim() === '') return [...fallback];
        const values = raw.split(',').map((part) => part.trim());
        if (values.some((value) => !/^\d+$/.test(value))) throw new ValueError(`must be comma-separated milliseconds, got "${raw}"`);
        return values.map(Number);
      },
    };
  },
  /**
   * HOOKPOST_SECRET_KEYS: required, no default, checked here (see masterKeys.ts) and kept as written, for
   * SecretBox.fromConfig and whatever else derives from the master keys.
   */
  masterKeys(): EnvSpec<string> {
    return {
      describe: 'required, no default',
      parse(raw) {
        try {
          parseMasterKeys(raw);
          return raw!.trim();
        } catch (error) {
          if (error instanceof MasterKeyError) throw new ValueError(error.message);
          throw error;
        }
      },
    };
  },
  /** An absolute http(s) URL, or empty (the default) for none. */
  optionalHttpUrl(): EnvSpec<string> {
    return {
      describe: 'http(s) URL (default: none)',
      parse(raw) {
        const value = (raw ?? '').trim();
        if (value === '') return '';
        let url: URL | undefined;
        try {
          url = new URL(value);
        } catch {
          url = undefined;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) throw new ValueError(`must be an http(s) URL without query or fragment, got "${value}"`);
        return value.replace(/\/+$/, '');
      },
    };
  },
  list(fallback: readonly string[]): EnvSpec<string[]> {
    return {
      describe: `comma-separated list (default ${fallback.join(',') || 'empty'})`,
      parse(raw) {
        if (raw === undefined) return [...fallback];
        return raw.split(',').map((part) => part.trim()).filter(Boolean);
      },
    };
  },
};

export type EnvOf<S> = { [K in keyof S]: S[K] extends EnvSpec<infer T> ? T : never };

export function parseEnv<S extends Record<string, EnvSpec<unknown>>>(spec: S, source: NodeJS.ProcessEnv = process.env): EnvOf<S> {
  const problems: string[] = [];
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(spec)) {
    try {
      result[name] = field.parse(source[name]);
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      problems.push(`${name} ${error.message} (${field.describe})`);
    }
  }
  if (problems.length > 0) throw new EnvError(problems);
  return result as EnvOf<S>;
}

/**
 * For a process's entry point: its settings, or every problem with them on stderr and exit status 1. No stack
 * trace: the message says what to set, and a trace would bury it.
 */
export function settingsOrExit<T>(processName: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${processName} cannot start: ${error.message}\n`);
    process.exit(1);
  }
}

/** The connection settings every service shares; ports match infra/local.sh and docker-compose.yml. */
export const commonEnv = {
  KAFKA_BROKERS: envs.list(['127.0.0.1:9092']),
  HOOKPOST_TOPIC_PREFIX: envs.string(''),
  REDIS_URL: envs.string('redis://127.0.0.1:6379'),
  HOOKPOST_REDIS_PREFIX: envs.string('hookpost:'),
  /** How long any Redis call may wait for its reply before it fails; a Redis that stops answering must not hold requests forever. */
  HOOKPOST_REDIS_REPLY_TIMEOUT_MS: envs.int(5_000, { min: 1 }),
  LOG_LEVEL: envs.string('info'),
  /** `<key id>:<base64 of 32 bytes>`, comma-separated; the first seals, all open. Required: no key is built in. */
  HOOKPOST_SECRET_KEYS: envs.masterKeys(),
  /** API keys accepted as `Authorization: Bearer <key>`, comma-separated (16+ characters each). */
  HOOKPOST_API_KEYS: envs.list([]),
  /** Keys scoped to one application each: `<application id or uid>=<key>`, comma-separated (see appTokens.ts). */
  HOOKPOST_APP_API_KEYS: envs.list([]),
  /** Non-public targets the dispatcher may deliver to anyway: `address[/prefix][:port]` (e.g. 127.0.0.1/32:9999 for a local receiver); none by default. */
  HOOKPOST_ALLOWED_TARGET_CIDRS: envs.list([]),
  /** Run without API keys; only for a closed network. */
  HOOKPOST_ALLOW_NO_AUTH: envs.bool(false),
  /** The address every HTTP listener binds; loopback unless you put the service behind something on purpose. */
  HOOKPOST_BIND_HOST: envs.string('127.0.0.1'),
  /** When set, GET /metrics needs `Authorization: Bearer <this>`. */
  HOOKPOST_METRICS_TOKEN: envs.string(''),
};

export const topicEnv = {
  /** Partitions of each event topic when this service creates it; more partitions, more consumers can share. */
  HOOKPOST_TOPIC_PARTITIONS: envs.int(8, { min: 1, max: 256 }),
  /** The event topics fsync every this many appends before acknowledging (1: durable on one broker); 0 leaves the broker's setting. */
  HOOKPOST_TOPIC_FLUSH_MESSAGES: envs.int(1, { min: 0 }),
  /** Replicas of each event topic when this service creates it: 1 for one broker; 3 on a cluster. */
  HOOKPOST_TOPIC_REPLICATION_FACTOR: envs.int(1, { min: 1, max: 16 }),
};
