import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const STATE = process.env.HOOKPOST_STATE_DIR ?? path.join(ROOT, '.hookpost');

/**
 * The release before this one, for the upgrade tests: the last commit that landed before the compiled build
 * (session 4's final state). Move it forward when a release is cut; keep the way it starts its services.
 */
export const PREVIOUS_RELEASE = {
  name: '0.1.0',
  commit: '16b92802494fc76400af7f44058e184b9cac888a',
  /** How that release started a service: TypeScript through tsx, the telemetry loader first. */
  args: (name: string) => ['--import', 'tsx', '--import', './packages/telemetry/src/register.ts', `services/${name}/src/index.ts`],
};

/**
 * A checkout of the previous release with its own dependencies installed, in .hookpost/releases/<name> (kept
 * between runs; made from this repository's history with git archive, so no network is needed beyond the
 * package registry pnpm already uses).
 */
export function previousRelease(): { dir: string; args: (name: string) => string[] } {
  const { name, commit, args } = PREVIOUS_RELEASE;
  const dir = path.join(STATE, 'releases', name);
  const ready = path.join(dir, '.hookpost-ready');
  if (!existsSync(ready)) {
    try {
      execFileSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: ROOT, stdio: 'pipe' });
    } catch {
      throw new Error(`release ${name} (${commit}) is not in this clone's history: the upgrade tests need a full clone (no --depth)`);
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('bash', ['-c', `git archive --format=tar ${commit} | tar -x -C "$0"`, dir], { cwd: ROOT, stdio: 'pipe' });
    const pnpm = path.join(STATE, 'tools/node_modules/.bin/pnpm');
    execFileSync(existsSync(pnpm) ? pnpm : 'pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], { cwd: dir, stdio: 'pipe', timeout: 600_000 });
    writeFileSync(ready, `${commit}\n`);
  }
  return { dir, args };
}
