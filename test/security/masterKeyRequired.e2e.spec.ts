import { spawn } from 'node:child_process';
import path from 'node:path';
import { publishedMasterKeys } from '@hookpost/platform';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');

/** Starts a service the way npm start does and resolves with its exit status and what it wrote to stderr. */
function start(service: string, env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const { HOOKPOST_SECRET_KEYS: _keys, ...inherited } = process.env;
  const child = spawn(process.execPath, [`services/${service}/dist/index.js`], {
    cwd: ROOT,
    env: { ...inherited, HOOKPOST_API_KEYS: 'test-api-key-0123456789abcdef', GATEWAY_PORT: '0', PROJECTOR_PORT: '0', DISPATCHER_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr }))));
}

describe('no built-in master key', () => {
  it.each(['gateway', 'dispatcher', 'projector'])('%s refuses to start without HOOKPOST_SECRET_KEYS, saying what to set', async (service) => {
    const { code, stderr } = await start(service, {});
    expect(code).toBe(1);
    expect(stderr).toContain(`${service} cannot start: invalid configuration:`);
    expect(stderr).toContain('HOOKPOST_SECRET_KEYS is required: set it to <key id>:<base64 of 32 bytes>');
    expect(stderr).toContain('openssl rand -base64 32');
  });

  it.each(['gateway', 'dispatcher', 'projector'])('%s refuses the key that used to be built in', async (service) => {
    const { code, stderr } = await start(service, { HOOKPOST_SECRET_KEYS: `dev:${publishedMasterKeys[0]!.key}` });
    expect(code).toBe(1);
    expect(stderr).toMatch(/HOOKPOST_SECRET_KEYS key "dev" is published .*openssl rand -base64 32/);
  });
});
