/**
 * The API tier (`npm run test:api`, and a step of `npm test`): schemathesis against a running, isolated
 * stack's /openapi.json, with every check and its stateful phase. It passes only when schemathesis reports
 * no failure, so the published API description stays true to what the services do.
 *
 * Usage: tsx test/api/runSchemathesis.ts <path of the schemathesis executable> [extra schemathesis arguments]
 * Output (the console log and the JUnit report) goes to .hookpost/schemathesis/.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import dns from 'node:dns';
import { createWriteStream, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Receiver } from '../support/receiver';
import { startStack, TEST_API_KEY } from '../support/stack';

const ROOT = path.resolve(__dirname, '../..');
const OUTPUT = path.join(process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost'), 'schemathesis');

/**
 * Network rule: tests send traffic only to loopback. The hooks file points every generated target_url at the
 * loopback receiver; this guard makes sure of it for the in-process dispatcher: a name other than localhost is
 * never looked up (that would ask the machine's resolver), it fails, and the run fails with it.
 */
const refusedLookups: string[] = [];
function guardLookups(): void {
  const lookup = dns.lookup;
  const guarded = (hostname: string, ...rest: unknown[]) => {
    const callback = rest[rest.length - 1] as (error: NodeJS.ErrnoException) => void;
    if (isIP(hostname) || hostname === 'localhost' || hostname.endsWith('.localhost')) return (lookup as (...args: unknown[]) => void)(hostname, ...rest);
    refusedLookups.push(hostname);
    const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname} (the API tier looks up loopback names only)`);
    error.code = 'ENOTFOUND';
    process.nextTick(callback, error);
  };
  (dns as { lookup: unknown }).lookup = guarded;
}

async function main(): Promise<number> {
  const [schemathesis, ...extra] = process.argv.slice(2);
  if (!schemathesis) throw new Error('usage: runSchemathesis.ts <schemathesis executable> [arguments]');
  mkdirSync(OUTPUT, { recursive: true });
  guardLookups();

  const receiver = await Receiver.start();
  // Only loopback is an allowed target: a generated address elsewhere is refused with 422 (declared).
  const stack = await startStack({ env: { HOOKPOST_ALLOWED_TARGET_CIDRS: '127.0.0.0/8' } });
  const started = Date.now();
  let code: number;
  try {
    const args = [
      '--config-file', path.join(__dirname, 'schemathesis.toml'),
      'run', `${stack.baseUrl}/openapi.json`,
      '--checks', 'all',
      // Svix semantics: DELETE of an event type archives it, and it stays readable (see schemathesis.toml).
      '--exclude-checks', 'use_after_free',
      '--phases', 'examples,coverage,fuzzing,stateful',
      '--report', 'junit', '--report-junit-path', path.join(OUTPUT, 'junit.xml'),
      '--no-color',
      ...extra,
    ];
    const log = createWriteStream(path.join(OUTPUT, 'schemathesis.log'));
    const child = spawn(schemathesis, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        HOOKPOST_API_KEY: TEST_API_KEY,
        HOOKPOST_RECEIVER_URL: receiver.url,
        HOOKPOST_SCHEMATHESIS_DIR: OUTPUT,
        HYPOTHESIS_STORAGE_DIRECTORY: path.join(OUTPUT, 'hypothesis'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => log.write(chunk));
      // Schemathesis closes with a pytest-style banner ("==== 2 warnings in 269.11s ===="), which CI reads as
      // pytest's closing line (and counts as no test run): the console gets it without the rules; the log as is.
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => console.log(withoutBannerRules(line)));
    }
    code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status) => resolve(status ?? 1));
    });
    log.end();
  } finally {
    await stack.stop();
    await receiver.stop();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (refusedLookups.length > 0) {
    console.error(`api tier: a delivery target left loopback (looked up: ${[...new Set(refusedLookups)].slice(0, 5).join(', ')})`);
    code = code || 1;
  }
  console.log(`api tier: schemathesis ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${seconds} s; log in ${path.relative(ROOT, OUTPUT)}/schemathesis.log`);
  return code;
}

/** "===== 2 warnings in 269.11s =====" → "schemathesis: 2 warnings in 269.11s"; any other line as it is. */
function withoutBannerRules(line: string): string {
  const banner = /^=+ (.*?) =+$/.exec(line.trim());
  return banner ? `schemathesis: ${banner[1]}` : line;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
