import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Tests talk to the real brokers; say clearly when they are not there instead of timing out one by one. */
export default async function globalSetup(): Promise<void> {
  const tiers = (process.env.HOOKPOST_TEST_TIERS ?? 'unit,int,e2e').split(',');
  if (tiers.length === 1 && tiers[0] === 'unit') return;
  // Services run compiled, as npm start runs them: bundled again here when a source changed since.
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  // The jaeger tier runs the Jaeger npm start runs: built from the Go module proxy when missing or when its pinned
  // version changed (scripts/lib.sh, ensure_jaeger; minutes the first time, seconds after).
  if (tiers.includes('jaeger')) {
    execFileSync('bash', ['-c', 'source "$0/lib.sh" && ensure_jaeger', path.join(__dirname, '../scripts')], { stdio: 'inherit' });
  } else if (tiers.includes('browser')) {
    // The browser tier's trace test (test/browser/trace.browser.spec.ts) needs it too; the tier's other tests do
    // not, so a failed build fails that test (startJaeger: no Jaeger at …), not the whole tier.
    try {
      execFileSync('bash', ['-c', 'source "$0/lib.sh" && ensure_jaeger', path.join(__dirname, '../scripts')], { stdio: 'inherit' });
    } catch {
      console.error('[hookpost] Jaeger could not be built (above): the trace test of the browser tier will fail');
    }
  }
  const services = { PostgreSQL: 5432, Redis: 6379, RabbitMQ: 5672, Kafka: 9092 };
  const missing: string[] = [];
  for (const [name, port] of Object.entries(services)) if (!(await reachable(port))) missing.push(`${name} (127.0.0.1:${port})`);
  if (missing.length > 0) throw new Error(`not reachable: ${missing.join(', ')}. Run the tests with \`npm test\`, which starts them.`);
}
