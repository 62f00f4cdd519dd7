import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Jest setup: the connection URLs infra/local.sh wrote for this checkout (with its passwords), for a jest run
 * started by hand; `npm test` exports them already. A variable already set is kept.
 */
const state = process.env.HOOKPOST_STATE_DIR ?? path.resolve(__dirname, '..', '.hookpost');
try {
  for (const line of readFileSync(path.join(state, 'credentials.env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const name = line.slice(0, at);
    if (!process.env[name]) process.env[name] = line.slice(at + 1);
  }
} catch {
  // No infrastructure started from this checkout yet: the defaults (and globalSetup's check) apply.
}
