import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';

jest.setTimeout(60_000);

/**
 * The local infrastructure infra/local.sh starts is private to this checkout's owner: its state folder and
 * secrets are not readable by other local users, another local user cannot log in to PostgreSQL, and the
 * brokers take only the credentials made for this checkout. Checked on the running brokers and their files.
 */
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.resolve(__dirname, '../../.hookpost');
const inState = (...parts: string[]) => path.join(STATE, ...parts);

beforeAll(() => {
  if (!existsSync(inState('credentials.env'))) {
    throw new Error(`no ${inState('credentials.env')}: start the infrastructure with infra/local.sh up (npm test does), or set HOOKPOST_STATE_DIR to its state folder`);
  }
});

const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8);

/** The folder infra/local.sh made for PostgreSQL's data, from the pid file it keeps for a server it started. */
function postgresDataDir(): string {
  const started = inState('run', 'postgres.started');
  if (!existsSync(started)) throw new Error(`no ${started}: PostgreSQL was not started by infra/local.sh from ${STATE}, so its socket is not this checkout's to check`);
  return readFileSync(started, 'utf8').trim();
}
// (infra/local.sh keeps the socket beside the data folder: <service state>/postgres/run)
const postgresSocketDir = () => path.join(path.dirname(postgresDataDir()), 'run');
const PG_PORT = new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432').port || '5432';

/**
 * Every file and folder under `root` with its mode (symbolic links are not followed: their own mode means
 * nothing). Kafka removes the folders of deleted topics (`…-delete`) while other tests' runs end, so an entry
 * gone between the listing and its look is left out rather than failing the walk.
 */
function walk(root: string): { entry: string; mode: number }[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.flatMap((name) => {
    const entry = path.join(root, name);
    let stat;
    try {
      stat = lstatSync(entry);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    if (stat.isSymbolicLink()) return [];
    return stat.isDirectory() ? [{ entry, mode: stat.mode }, ...walk(entry)] : [{ entry, mode: stat.mode }];
  });
}

describe('files are private to their owner', () => {
  it('the state folder is 0700', () => {
    expect(modeOf(STATE)).toBe('700');
  });

  it('passwords, connection URLs, master keys and the API key are 0600', () => {
    // infra/local.sh always makes the passwords and the URLs; npm start makes the master key and API key files
    const always = ['credentials.env', 'db-password', 'redis-password', 'rabbitmq-password'];
    const whenMade = ['secret-keys', 'api-key'].filter((name) => existsSync(inState(name)));
    for (const name of [...always, ...whenMade]) expect({ name, mode: modeOf(inState(name)) }).toEqual({ name, mode: '600' });
  });

  it("Kafka's data files (payloads, sealed secrets) are readable by their owner only", () => {
    const entries = walk(inState('kafka'));
    // (there is a log to check: the broker has formatted its storage)
    expect(entries.some(({ entry }) => entry.endsWith('meta.properties'))).toBe(true);
    const open = entries.filter(({ mode }) => (mode & 0o077) !== 0).map(({ entry, mode }) => `${path.relative(STATE, entry)} ${(mode & 0o777).toString(8)}`);
    expect(open).toEqual([]);
  });

  it("the PostgreSQL socket's folder is 0700, and PostgreSQL's and RabbitMQ's data folders are private", () => {
    const socketDir = postgresSocketDir();
    expect(lstatSync(path.join(socketDir, `.s.PGSQL.${PG_PORT}`)).isSocket()).toBe(true);
    expect(modeOf(socketDir)).toBe('700');
    // (these sit under /var/lib/hookpost/<hash> when the checkout is in a home PostgreSQL cannot reach)
    const serviceState = path.dirname(path.dirname(postgresDataDir()));
    for (const folder of ['postgres', 'rabbitmq']) expect({ folder, mode: modeOf(path.join(serviceState, folder)) }).toEqual({ folder, mode: '700' });
  });
});

/** argv run as another local user, with an empty environment (no PGPASSWORD, no DATABASE_URL of ours). */
function runAs(user: string, argv: string[]): { status: number | null; output: string } | undefined {
  const bin = (name: string) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((dir) => path.join(dir, name)).find((file) => existsSync(file));
  const runuser = bin('runuser');
  const su = bin('su');
  const command = runuser
    ? [runuser, '-u', user, '--', ...argv]
    : su
      ? [su, '-s', '/bin/sh', user, '-c', argv.map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ')]
      : undefined;
  if (!command) return undefined;
  const result = spawnSync(command[0]!, command.slice(1), { cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/' }, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
const canSwitchUser = runAs('nobody', ['true']) !== undefined;
const asAnotherUser = canSwitchUser ? it : it.skip;

describe('another local user is refused by PostgreSQL', () => {
  if (!canSwitchUser) console.warn('skipped: neither runuser nor su is installed, so no command can run as another local user');

  asAnotherUser('over the socket: the folder is closed to it (and PostgreSQL itself, for contrast, gets in)', () => {
    const socketDir = postgresSocketDir();
    const select = (user: string, dbUser: string) => runAs(user, ['psql', '-h', socketDir, '-p', PG_PORT, '-U', dbUser, '-d', 'postgres', '-w', '-Atc', 'select 1'])!;
    // (the same command as the postgres user answers: the socket is there and alive)
    expect(select('postgres', 'postgres')).toEqual({ status: 0, output: '1\n' });
    for (const dbUser of ['postgres', 'hookpost']) {
      const refused = select('nobody', dbUser);
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/Permission denied/);
    }
  });

  asAnotherUser('over TCP on loopback: no password, no login', () => {
    for (const dbUser of ['postgres', 'hookpost']) {
      const refused = runAs('nobody', ['psql', '-h', '127.0.0.1', '-p', PG_PORT, '-U', dbUser, '-d', 'postgres', '-w', '-Atc', 'select 1'])!;
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/no password supplied|password authentication failed/);
    }
  });
});

/** What Redis answers to `command` (RESP inline) on a fresh connection, first line. */
function redisSays(port: number, ...commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('Redis did not answer within 5 s')));
    socket.once('connect', () => socket.write(commands.map((command) => `${command}\r\n`).join('')));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      const lines = answer.split('\r\n');
      if (lines.length > commands.length) {
        socket.destroy();
        resolve(lines[commands.length - 1]!);
      }
    });
    socket.once('error', reject);
  });
}

describe('the brokers take only the credentials made for this checkout', () => {
  const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const redisPort = Number(redis.port || 6379);

  it('Redis refuses a client that has not authenticated (NOAUTH), and answers one with the password', async () => {
    expect(await redisSays(redisPort, 'PING')).toMatch(/^-NOAUTH /);
    expect(await redisSays(redisPort, 'AUTH wrong-password', 'PING')).toMatch(/^-NOAUTH /);
    expect(redis.password).not.toBe('');
    expect(await redisSays(redisPort, `AUTH ${decodeURIComponent(redis.password)}`, 'PING')).toBe('+PONG');
  });

  it("RabbitMQ refuses guest/guest, and takes this checkout's user", async () => {
    const ours = new URL(process.env.AMQP_URL ?? 'amqp://127.0.0.1:5672');
    expect(ours.username).not.toBe('guest');
    const guest = new URL(ours.href);
    guest.username = 'guest';
    guest.password = 'guest';
    await expect(amqp.connect(guest.href)).rejects.toThrow(/ACCESS.REFUSED/);
    const connection = await amqp.connect(ours.href);
    await connection.close();
  });
});
