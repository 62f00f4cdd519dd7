import readline from 'node:readline';
import { Writable } from 'node:stream';
import type { Options } from './commandLine';
import { loadCredentials, type ConfigFile } from './config';
import { UsageError } from './errors';
import { HookpostClient } from './hookpostClient';
import type { Paint } from './output';

/** The process's outside world, passed in so that main() can run in a test with its own streams and env. */
export type Io = Readonly<{
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
}>;

/** What every command gets: output, the config file, and a client once it asks for one. */
export type Context = Readonly<{
  io: Io;
  json: boolean;
  paint: Paint;
  config: ConfigFile;
  version: string;
  /** A line on stdout (the command's result). */
  out: (text: string) => void;
  /** A line on stderr (progress, hints, warnings): never mixed into what a pipe reads. */
  note: (text: string) => void;
  client: () => Promise<HookpostClient>;
}>;

export type Handler = (context: Context, args: Readonly<Record<string, string | undefined>>, options: Options) => Promise<void>;

export function makeContext(io: Io, settings: { json: boolean; paint: Paint; config: ConfigFile; version: string }): Context {
  let client: HookpostClient | undefined;
  const note = (text: string) => void io.stderr.write(`${text}\n`);
  return {
    io,
    ...settings,
    out: (text) => void io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note,
    client: async () => {
      client ??= new HookpostClient(await loadCredentials(settings.config, io.env, note), { userAgent: `hookpost-cli/${settings.version}` });
      return client;
    },
  };
}

/** All of stdin, as bytes. */
export async function readStdin(io: Io): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Asks on the terminal (the question on stderr); a hidden answer is not echoed. */
export async function ask(io: Io, question: string, options: { hidden?: boolean } = {}): Promise<string> {
  let muted = false;
  const echo = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) io.stderr.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input: io.stdin, output: echo, terminal: true });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      rl.question(question, resolve);
      // (readline has written the question by now; what is typed from here on is not echoed)
      muted = options.hidden === true;
      rl.once('close', () => reject(new UsageError('no answer (input closed)')));
      rl.once('SIGINT', () => reject(new UsageError('cancelled')));
    });
    if (muted) io.stderr.write('\n');
    return answer.trim();
  } finally {
    rl.close();
  }
}
