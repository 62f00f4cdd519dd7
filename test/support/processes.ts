import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');

export type ServiceProcess = { name: string; port: number; child: ChildProcess; stop: (signal?: NodeJS.Signals) => Promise<number | null> };

/**
 * A service as its own process, started the way `npm start` starts it (the compiled build, the telemetry loader first);
 * resolves with the port it reports once ready.
 */
export function spawnService(
  name: 'gateway' | 'dispatcher' | 'projector',
  env: Record<string, string>,
  options: {
    /** The runtime's files (scripts/package.sh OUT), started with its entrypoint as the image does. */
    runtime?: string;
    /** Another release's checkout, started as that release started its services (test/support/releases.ts). */
    release?: { dir: string; args: (name: string) => string[] };
  } = {},
): Promise<ServiceProcess> {
  // (the build is brought up to date by test/globalSetup.ts before any test runs)
  const [command, args, cwd] = options.runtime
    ? [path.join(options.runtime, 'entrypoint.sh'), [name], options.runtime]
    : options.release
      ? [process.execPath, options.release.args(name), options.release.dir]
      : [process.execPath, ['--enable-source-maps', '--import', `./services/${name}/dist/register.js`, `services/${name}/dist/index.js`], ROOT];
  const child = spawn(command, args, {
    cwd,
    // (HOOKPOST_TEST_SERVICE_LOG_LEVEL=debug, with HOOKPOST_TEST_LOG_DIR, keeps every attempt in the logs)
    env: { ...process.env, ...env, LOG_LEVEL: process.env.HOOKPOST_TEST_SERVICE_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // HOOKPOST_TEST_LOG_DIR keeps every spawned service's whole output, to read after a failure.
  const logDir = process.env.HOOKPOST_TEST_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const file = createWriteStream(path.join(logDir, `${name}-${child.pid}.log`));
    child.stdout!.pipe(file, { end: false });
    child.stderr!.pipe(file, { end: false });
    child.once('exit', () => file.end());
  }
  const stop = (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output.slice(-20).join('\n')}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === `${name} ready` && entry.port) {
          clearTimeout(timer);
          resolve({ name, port: entry.port, child, stop });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output.slice(-20).join('\n')}`));
    });
  });
}

export type SpawnedStack = { projector: ServiceProcess; dispatcher: ServiceProcess; gateway: ServiceProcess; baseUrl: string; stop: () => Promise<void> };

/**
 * The three services as processes, started in order (the projector first: the others read through it), each
 * with `env` and the projector's URL; `stop` stops them in reverse.
 */
export async function spawnStack(env: Record<string, string>, options: Parameters<typeof spawnService>[2] = {}): Promise<SpawnedStack> {
  const started: ServiceProcess[] = [];
  const stop = async () => {
    for (const service of [...started].reverse()) await service.stop();
  };
  try {
    const projector = await spawnService('projector', env, options);
    started.push(projector);
    const withProjector = { ...env, PROJECTOR_URL: `http://127.0.0.1:${projector.port}` };
    const dispatcher = await spawnService('dispatcher', withProjector, options);
    started.push(dispatcher);
    const gateway = await spawnService('gateway', withProjector, options);
    started.push(gateway);
    return { projector, dispatcher, gateway, baseUrl: `http://127.0.0.1:${gateway.port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
