import { homedir } from 'node:os';
import { commands, parseCommandLine, type CommandId } from './commandLine';
import { configFile, configPath } from './config';
import { makeContext, type Handler, type Io } from './context';
import { CliError, exitCodes, type ExitCode } from './errors';
import { colorEnabled, json, painter } from './output';
import { login, logout } from './commands/login';
import { appsCreate, appsDelete, appsGet, appsList, endpointsCreate, endpointsDelete, endpointsGet, endpointsList, endpointsSecret, endpointsUpdate } from './commands/resources';
import { attempts, messages, recover, resend, send } from './commands/messages';
import { tail } from './commands/tail';
import { verifyWebhook } from './commands/verify';
import { listen } from './commands/listen';

/** The version printed by --version and sent in User-Agent: the package's own. */
export const VERSION: string = (require('../package.json') as { version: string }).version;

function handlerOf(id: CommandId): Handler {
  switch (id) {
    case 'login':
      return login;
    case 'logout':
      return logout;
    case 'apps.list':
      return appsList;
    case 'apps.create':
      return appsCreate;
    case 'apps.get':
      return appsGet;
    case 'apps.delete':
      return appsDelete;
    case 'endpoints.list':
      return endpointsList;
    case 'endpoints.create':
      return endpointsCreate;
    case 'endpoints.get':
      return endpointsGet;
    case 'endpoints.update':
      return endpointsUpdate;
    case 'endpoints.delete':
      return endpointsDelete;
    case 'endpoints.secret':
      return endpointsSecret;
    case 'send':
      return send;
    case 'messages':
      return messages;
    case 'attempts':
      return attempts;
    case 'resend':
      return resend;
    case 'recover':
      return recover;
    case 'tail':
      return tail;
    case 'verify':
      return verifyWebhook;
    case 'listen':
      return listen;
    default: {
      const unknown: never = id;
      throw new Error(`no handler for ${String(unknown)}`);
    }
  }
}

export function processIo(): Io {
  // A reader that stops early (`hookpost tail --json | head -1`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(exitCodes.ok);
    throw error;
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
    now: () => new Date(),
  };
}

/**
 * Runs one command line; resolves with the exit status. Errors end as one line on stderr (a JSON object with
 * --json) and their status; nothing but a bug prints a stack trace.
 */
export async function main(argv: readonly string[] = process.argv.slice(2), io: Io = processIo()): Promise<ExitCode> {
  const jsonWanted = argv.includes('--json');
  try {
    const parsed = parseCommandLine(argv);
    switch (parsed.kind) {
      case 'help':
        io.stdout.write(parsed.json ? json({ commands: commands.map((command) => ({ command: command.words.join(' '), summary: command.summary })) }) : parsed.text);
        return exitCodes.ok;
      case 'version':
        io.stdout.write(parsed.json ? json({ version: VERSION }) : `${VERSION}\n`);
        return exitCodes.ok;
      case 'run': {
        const paint = painter(!parsed.json && colorEnabled({ noColorFlag: parsed.noColor, env: io.env, isTTY: io.stdoutIsTTY }));
        const config = configFile(configPath(io.env, process.platform, homedir()));
        const context = makeContext(io, { json: parsed.json, paint, config, version: VERSION });
        await handlerOf(parsed.command.id)(context, parsed.args, parsed.options);
        return exitCodes.ok;
      }
      default: {
        const unknown: never = parsed;
        throw new Error(`unknown parse result ${JSON.stringify(unknown)}`);
      }
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(jsonWanted ? json({ error: { message: error.message, exitCode: error.exitCode, ...error.details } }) : `hookpost: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`hookpost: unexpected error (a bug; please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return exitCodes.failed;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
