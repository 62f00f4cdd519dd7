import { parseArgs } from 'node:util';
import { UsageError } from './errors';

/**
 * The command line: every command with its arguments and options in one table, read with Node's own
 * util.parseArgs (strict: an unknown option or a missing value is a usage error) and turned into help text.
 * Command words come first (`hookpost apps list`); the global flags may stand anywhere.
 */

type OptionSpec = Readonly<{ type: 'string' | 'boolean'; short?: string; multiple?: boolean; value?: string; description: string }>;
type PositionalSpec = Readonly<{ name: string; required: boolean }>;

export type CommandSpec = Readonly<{
  id: CommandId;
  words: readonly string[];
  positionals: readonly PositionalSpec[];
  options: Readonly<Record<string, OptionSpec>>;
  summary: string;
  /** More lines for `--help`. */
  notes?: readonly string[];
}>;

export type CommandId =
  | 'login'
  | 'logout'
  | 'apps.list'
  | 'apps.create'
  | 'apps.get'
  | 'apps.delete'
  | 'endpoints.list'
  | 'endpoints.create'
  | 'endpoints.get'
  | 'endpoints.update'
  | 'endpoints.delete'
  | 'endpoints.secret'
  | 'send'
  | 'messages'
  | 'attempts'
  | 'resend'
  | 'recover'
  | 'tail'
  | 'verify'
  | 'listen';

const paging = {
  limit: { type: 'string', value: 'n', description: 'items per page, 1-250 (default 50)' },
  iterator: { type: 'string', value: 'it', description: 'continue after an earlier page (its iterator)' },
  all: { type: 'boolean', description: 'every page, not only the first' },
} as const;

const messageFilters = {
  'event-types': { type: 'string', value: 'a,b', description: 'only these event types' },
  channel: { type: 'string', value: 'name', description: 'only messages in this channel' },
  tag: { type: 'string', value: 'tag', description: 'only messages with this tag' },
  before: { type: 'string', value: 'time', description: 'only before this time (RFC 3339, or a duration ago: 15m, 2h, 3d)' },
  after: { type: 'string', value: 'time', description: 'only after this time' },
} as const;

const endpointFields = {
  description: { type: 'string', value: 'text', description: 'what the endpoint is for' },
  uid: { type: 'string', value: 'uid', description: 'your own unique name for it, usable in place of its id' },
  'event-types': { type: 'string', value: 'a,b', description: 'event types it receives (default: every type)' },
  channels: { type: 'string', value: 'a,b', description: 'channels it receives (default: every channel)' },
  metadata: { type: 'string', multiple: true, value: 'key=value', description: 'metadata, repeatable' },
} as const;

export const commands: readonly CommandSpec[] = [
  {
    id: 'login',
    words: ['login'],
    positionals: [],
    options: {
      url: { type: 'string', value: 'url', description: 'where Hookpost answers (default http://localhost:8000)' },
      'api-key': { type: 'string', value: 'key', description: 'an API key (else prompted for, or read from stdin when it is not a terminal)' },
    },
    summary: 'store the URL and API key of a Hookpost, after checking them',
    notes: [
      'The file is <config dir>/hookpost/config.json, mode 0600 in a 0700 directory (HOOKPOST_CONFIG names another file).',
      'HOOKPOST_URL and HOOKPOST_API_KEY, when set, are used instead of what is stored.',
    ],
  },
  { id: 'logout', words: ['logout'], positionals: [], options: {}, summary: 'forget the stored URL and API key' },

  { id: 'apps.list', words: ['apps', 'list'], positionals: [], options: { ...paging }, summary: 'list applications' },
  {
    id: 'apps.create',
    words: ['apps', 'create'],
    positionals: [{ name: 'name', required: true }],
    options: { uid: endpointFields.uid, metadata: endpointFields.metadata },
    summary: 'create an application',
  },
  { id: 'apps.get', words: ['apps', 'get'], positionals: [{ name: 'app', required: true }], options: {}, summary: 'show an application (by id or uid)' },
  { id: 'apps.delete', words: ['apps', 'delete'], positionals: [{ name: 'app', required: true }], options: {}, summary: 'delete an application and its endpoints' },

  { id: 'endpoints.list', words: ['endpoints', 'list'], positionals: [{ name: 'app', required: true }], options: { ...paging }, summary: "list an application's endpoints" },
  {
    id: 'endpoints.create',
    words: ['endpoints', 'create'],
    positionals: [
      { name: 'app', required: true },
      { name: 'url', required: true },
    ],
    options: {
      ...endpointFields,
      secret: { type: 'string', value: 'whsec_…', description: 'its signing secret (default: generated)' },
      disabled: { type: 'boolean', description: 'create it disabled' },
    },
    summary: 'create an endpoint',
  },
  {
    id: 'endpoints.get',
    words: ['endpoints', 'get'],
    positionals: [
      { name: 'app', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {},
    summary: 'show an endpoint (by id or uid)',
  },
  {
    id: 'endpoints.update',
    words: ['endpoints', 'update'],
    positionals: [
      { name: 'app', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {
      url: { type: 'string', value: 'url', description: 'a new URL' },
      ...endpointFields,
      'event-types': { ...endpointFields['event-types'], description: 'event types it receives ("" for every type)' },
      channels: { ...endpointFields.channels, description: 'channels it receives ("" for every channel)' },
      disable: { type: 'boolean', description: 'stop deliveries to it' },
      enable: { type: 'boolean', description: 'resume deliveries to it' },
    },
    summary: 'change an endpoint (only what is given)',
  },
  {
    id: 'endpoints.delete',
    words: ['endpoints', 'delete'],
    positionals: [
      { name: 'app', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {},
    summary: 'delete an endpoint; its waiting retries are cancelled',
  },
  {
    id: 'endpoints.secret',
    words: ['endpoints', 'secret'],
    positionals: [
      { name: 'app', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {},
    summary: "print an endpoint's signing secret",
  },

  {
    id: 'send',
    words: ['send'],
    positionals: [
      { name: 'app', required: true },
      { name: 'event-type', required: true },
      { name: 'payload', required: false },
    ],
    options: {
      file: { type: 'string', short: 'f', value: 'path', description: 'read the payload from this file (- for stdin)' },
      channels: { type: 'string', value: 'a,b', description: 'channels of the message' },
      tags: { type: 'string', value: 'a,b', description: 'tags of the message' },
      'event-id': { type: 'string', value: 'id', description: 'your unique id for it (a second message with it is refused)' },
      'idempotency-key': { type: 'string', value: 'key', description: 'sending again with the same key sends nothing twice (12 hours)' },
    },
    summary: 'send a message to every endpoint of an application that wants it',
    notes: ['The payload is a JSON object: the argument, the file, or stdin when neither is given and stdin is not a terminal.'],
  },
  {
    id: 'messages',
    words: ['messages'],
    positionals: [
      { name: 'app', required: true },
      { name: 'message', required: false },
    ],
    options: { ...messageFilters, ...paging },
    summary: "list an application's messages, newest first, or show one (by id or event id)",
  },
  {
    id: 'attempts',
    words: ['attempts'],
    positionals: [{ name: 'app', required: true }],
    options: {
      message: { type: 'string', short: 'm', value: 'msg', description: 'the attempts to deliver this message' },
      endpoint: { type: 'string', short: 'e', value: 'ep', description: 'the attempts to this endpoint' },
      status: { type: 'string', value: 'status', description: 'only success, pending, fail or sending' },
      ...messageFilters,
      ...paging,
    },
    summary: 'list delivery attempts of a message or to an endpoint, newest first',
  },
  {
    id: 'resend',
    words: ['resend'],
    positionals: [
      { name: 'app', required: true },
      { name: 'message', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {},
    summary: 'deliver a message to an endpoint again',
  },
  {
    id: 'recover',
    words: ['recover'],
    positionals: [
      { name: 'app', required: true },
      { name: 'endpoint', required: true },
    ],
    options: {
      since: { type: 'string', value: 'time', description: 'from this time (required; RFC 3339, or a duration ago: 2h)' },
      until: { type: 'string', value: 'time', description: 'up to this time (default: now)' },
    },
    summary: 'deliver again every message whose delivery to an endpoint failed in a time window',
  },
  {
    id: 'tail',
    words: ['tail'],
    positionals: [{ name: 'app', required: true }],
    options: {
      endpoint: { type: 'string', short: 'e', multiple: true, value: 'ep', description: 'only this endpoint (repeatable)' },
      since: { type: 'string', value: 'time', description: 'also show attempts since this time (default: only new ones)' },
      interval: { type: 'string', value: 'ms', description: 'how often to ask (default 1000)' },
    },
    summary: 'follow delivery attempts as they happen, coloured by outcome, until Ctrl-C',
    notes: ['Hookpost has no push API yet: tail polls the attempt lists.'],
  },
  {
    id: 'verify',
    words: ['verify'],
    positionals: [],
    options: {
      secret: { type: 'string', short: 's', value: 'key', description: "the endpoint's secret (whsec_…) or public key (whpk_…); or HOOKPOST_WEBHOOK_SECRET" },
      header: { type: 'string', short: 'H', multiple: true, value: "'name: value'", description: 'a header of the webhook, repeatable' },
      headers: { type: 'string', value: 'path', description: 'the headers: a JSON object, or "name: value" lines' },
      request: { type: 'string', value: 'path', description: 'the whole captured request: headers, a blank line, the body (- for stdin)' },
      body: { type: 'string', value: 'path', description: 'the raw body, byte for byte (- for stdin; default: stdin)' },
      id: { type: 'string', value: 'msg_…', description: 'the webhook-id header' },
      timestamp: { type: 'string', value: 'seconds', description: 'the webhook-timestamp header' },
      signature: { type: 'string', value: 'v1,…', description: 'the webhook-signature header' },
      tolerance: { type: 'string', value: 'seconds', description: 'how far the timestamp may be from now (default 300)' },
      'ignore-timestamp': { type: 'boolean', description: 'check the signature of an old capture whatever its age' },
    },
    summary: "check a captured webhook's Standard Webhooks signature",
  },
  {
    id: 'listen',
    words: ['listen'],
    positionals: [{ name: 'port', required: true }],
    options: {
      app: { type: 'string', short: 'a', value: 'app', description: 'the application to take deliveries from (required)' },
      'listen-port': { type: 'string', value: 'port', description: 'the port this command listens on, on 127.0.0.1 (default: any free port)' },
      path: { type: 'string', value: '/path', description: 'the path of the temporary endpoint, forwarded as is (default /)' },
      'event-types': { type: 'string', value: 'a,b', description: 'only these event types' },
      channels: { type: 'string', value: 'a,b', description: 'only these channels' },
      'endpoint-url': { type: 'string', value: 'url', description: 'the URL Hookpost should deliver to, when it reaches this machine another way (a tunnel)' },
    },
    summary: 'forward deliveries of an application to http://127.0.0.1:<port> through a temporary endpoint',
    notes: [
      'Hookpost must be allowed to deliver to this machine: HOOKPOST_ALLOWED_TARGET_CIDRS=127.0.0.1/32:<listen-port> on the gateway and dispatcher.',
      'The endpoint is deleted on Ctrl-C or SIGTERM.',
    ],
  },
];

const globalOptions = {
  json: { type: 'boolean', description: 'print JSON instead of tables' },
  'no-color': { type: 'boolean', description: 'no colours (NO_COLOR=1 does the same)' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
  version: { type: 'boolean', short: 'v', description: 'the version' },
} as const satisfies Record<string, OptionSpec>;

export type Options = Readonly<Record<string, string | boolean | string[] | undefined>>;

export type Parsed =
  | Readonly<{ kind: 'run'; command: CommandSpec; args: Readonly<Record<string, string | undefined>>; options: Options; json: boolean; noColor: boolean }>
  | Readonly<{ kind: 'help'; text: string; json: boolean }>
  | Readonly<{ kind: 'version'; json: boolean }>;

const GLOBAL_FLAGS = new Set(['--json', '--no-color', '--help', '-h', '--version', '-v']);

/** Reads argv (without node and the script). Throws UsageError with what is wrong and where to look. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  // The command words: the leading arguments that are not global flags (`apps list`, `send`, `help apps`).
  const groups = new Set(commands.filter((command) => command.words.length > 1).map((command) => command.words[0]!));
  const words: string[] = [];
  let rest = 0;
  for (; rest < argv.length; rest += 1) {
    const arg = argv[rest]!;
    if (GLOBAL_FLAGS.has(arg)) continue;
    if (arg.startsWith('-') || words.length === 2 || (words.length === 1 && !groups.has(words[0]!))) break;
    words.push(arg);
  }
  const flags = argv.slice(0, rest).filter((arg) => GLOBAL_FLAGS.has(arg));
  const json = flags.includes('--json') || argv.slice(rest).includes('--json');
  const wantsHelp = flags.some((flag) => flag === '--help' || flag === '-h') || argv.slice(rest).some((arg) => arg === '--help' || arg === '-h');

  if (words[0] === 'help') return { kind: 'help', text: helpText(words.slice(1).concat(argv.slice(rest).filter((arg) => !arg.startsWith('-')))), json };
  if (words.length === 0) {
    if (flags.includes('--version') || flags.includes('-v')) return { kind: 'version', json };
    if (wantsHelp || argv.length === rest) return { kind: 'help', text: helpText([]), json };
    throw new UsageError(`unknown option ${argv[rest]}: see \`hookpost --help\``);
  }
  const command = commands.find((candidate) => candidate.words.join(' ') === words.join(' '));
  if (!command) {
    if (groups.has(words[0]!)) {
      if (words.length === 1) {
        if (wantsHelp) return { kind: 'help', text: helpText(words), json };
        throw new UsageError(`\`hookpost ${words[0]}\` needs a subcommand: ${subcommandsOf(words[0]!).join(', ')}`);
      }
      throw new UsageError(`unknown command \`hookpost ${words.join(' ')}\`: \`hookpost ${words[0]}\` takes ${subcommandsOf(words[0]!).join(', ')}`);
    }
    throw new UsageError(`unknown command \`${words[0]}\`: see \`hookpost --help\``);
  }
  if (wantsHelp) return { kind: 'help', text: helpText(command.words), json };

  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv.slice(0, rest).filter((arg) => GLOBAL_FLAGS.has(arg)), ...argv.slice(rest)],
      options: { ...command.options, ...globalOptions } as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>,
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${firstLine((error as Error).message)}: see \`hookpost ${command.words.join(' ')} --help\``);
  }
  if (positionals.length > command.positionals.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[command.positionals.length])}: see \`hookpost ${command.words.join(' ')} --help\``);
  }
  const args: Record<string, string | undefined> = {};
  command.positionals.forEach((spec, i) => {
    const value = positionals[i];
    if (value === undefined && spec.required) throw new UsageError(`missing <${spec.name}>: ${usageLine(command)}`);
    args[spec.name] = value;
  });
  const { json: _json, 'no-color': noColor, help: _help, version: _version, ...options } = values;
  return { kind: 'run', command, args, options: options as Options, json: values.json === true, noColor: noColor === true };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/\.$/, '');
}

function subcommandsOf(group: string): string[] {
  return commands.filter((command) => command.words[0] === group && command.words.length > 1).map((command) => command.words[1]!);
}

function usageLine(command: CommandSpec): string {
  const positionals = command.positionals.map((spec) => (spec.required ? `<${spec.name}>` : `[${spec.name}]`));
  const options = Object.keys(command.options).length > 0 ? ['[options]'] : [];
  return ['hookpost', ...command.words, ...positionals, ...options].join(' ');
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

/** Help for the whole tool, a group (`apps`) or one command. */
export function helpText(words: readonly string[]): string {
  const command = commands.find((candidate) => candidate.words.join(' ') === words.join(' '));
  if (command) {
    return [
      `Usage: ${usageLine(command)}`,
      '',
      `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
      ...(command.notes ? ['', ...command.notes] : []),
      ...(Object.keys(command.options).length > 0 ? ['', 'Options:', ...optionLines(command.options)] : []),
      '',
      'Global options:',
      ...optionLines(globalOptions),
      '',
    ].join('\n');
  }
  const shown = words.length > 0 && commands.some((candidate) => candidate.words[0] === words[0]) ? commands.filter((candidate) => candidate.words[0] === words[0]) : commands;
  const usages = shown.map((candidate) => [usageLine(candidate), candidate.summary] as const);
  const width = Math.max(...usages.map(([usage]) => usage.length));
  return [
    'Usage: hookpost <command> [arguments] [options]',
    '',
    'Commands:',
    ...usages.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`),
    '',
    'Global options:',
    ...optionLines(globalOptions),
    '',
    '`hookpost <command> --help` shows the options of one command. <app>, <endpoint> and <message> take an id or your uid (event id).',
    'Exit status: 0 done, 1 Hookpost refused, 2 usage, 3 Hookpost unreachable, 4 not logged in or key refused, 5 signature not verified.',
    '',
  ].join('\n');
}

/** The values of a comma-separated option, without empty ones; undefined when the option was not given. */
export function listOption(value: string | boolean | string[] | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** A whole number option within bounds. */
export function intOption(value: string | boolean | string[] | undefined, name: string, bounds: { min: number; max: number }): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < bounds.min || Number(value) > bounds.max) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}`);
  }
  return Number(value);
}

/** `key=value` pairs (repeatable metadata) as an object. */
export function keyValues(values: string | boolean | string[] | undefined, name: string): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const pairs = Array.isArray(values) ? values : [String(values)];
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--${name} takes key=value, not ${JSON.stringify(pair)}`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}

export function stringOption(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
