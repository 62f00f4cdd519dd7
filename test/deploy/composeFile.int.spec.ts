import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * docker-compose.yml and the image recipe, checked without a Docker engine (there is none here): the file is
 * parsed and interpolated by a real compose tool (Debian's docker-compose; scripts/lib.sh installs it), and every
 * file the Dockerfile copies exists. test/e2e/runtimePackage.e2e.spec.ts starts what the image would hold.
 */
const ROOT = path.resolve(__dirname, '../..');
const REQUIRED = {
  HOOKPOST_API_KEYS: 'compose-test-key-0123456789',
  // (made here: a key written in the repository counts as published, packages/platform/test/masterKeys)
  HOOKPOST_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  HOOKPOST_DB_PASSWORD: 'db-password',
  HOOKPOST_REDIS_PASSWORD: 'redis-password',
  HOOKPOST_RABBITMQ_PASSWORD: 'rabbitmq-password',
};

let emptyEnvFile: string;
beforeAll(() => {
  execFileSync('bash', ['-c', 'source scripts/lib.sh && ensure_compose >&2'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  emptyEnvFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'hookpost-compose-')), '.env');
  writeFileSync(emptyEnvFile, '');
});
afterAll(() => {
  if (emptyEnvFile) rmSync(path.dirname(emptyEnvFile), { recursive: true, force: true });
});

function config(env: Record<string, string>) {
  // Only what is given here: nothing of the machine's environment (or a .env) may fill in a required value.
  return spawnSync('docker-compose', ['--project-directory', ROOT, '-f', path.join(ROOT, 'docker-compose.yml'), '--env-file', emptyEnvFile, 'config'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
}

type Service = { image?: string; build?: { context: string; dockerfile: string }; command?: string[]; ports?: ({ published?: number | string; target?: number; host_ip?: string } | string)[]; environment?: Record<string, string> };

describe('docker-compose.yml', () => {
  it('is a valid compose file: one image for the three services, the command naming each, the brokers unpublished', () => {
    const answer = config(REQUIRED);
    expect(answer.stderr).not.toMatch(/error/i);
    expect(answer.status).toBe(0);
    const services = parse(answer.stdout).services as Record<string, Service>;
    for (const name of ['gateway', 'dispatcher', 'projector']) {
      expect(services[name]).toMatchObject({ image: 'hookpost:local', command: [name] });
      expect(services[name]!.build!.dockerfile).toBe('infra/docker/service.Dockerfile');
      expect(services[name]!.environment!.HOOKPOST_SECRET_KEYS).toBe(REQUIRED.HOOKPOST_SECRET_KEYS);
    }
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, port] as const));
    // Only the gateway's API, and Jaeger's UI on the host's loopback.
    expect(published.map(([name]) => name).sort()).toEqual(['gateway', 'jaeger']);
    const jaeger = published.find(([name]) => name === 'jaeger')![1];
    expect(typeof jaeger === 'string' ? jaeger : jaeger.host_ip).toMatch(/127\.0\.0\.1/);
  });

  it.each(Object.keys(REQUIRED))('refuses to start without %s, saying what to set', (name) => {
    const { [name]: _left, ...rest } = REQUIRED as Record<string, string>;
    const answer = config(rest);
    expect(answer.status).not.toBe(0);
    expect(answer.stderr).toContain(`set ${name}`);
  });
});

describe('the image recipe', () => {
  it('copies only files that exist, and runs as a user that is not root', () => {
    const recipe = readFileSync(path.join(ROOT, 'infra/docker/service.Dockerfile'), 'utf8');
    const copies = [...recipe.matchAll(/^COPY (?!--from)(.+)$/gm)].map((match) => match[1]!.trim().split(/\s+/).slice(0, -1));
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies.flat()) expect([source, existsSync(path.join(ROOT, source))]).toEqual([source, true]);
    expect(recipe).toMatch(/^USER node$/m);
    expect(recipe).toMatch(/^HEALTHCHECK /m);
    expect(recipe).toMatch(/^FROM node:(22|24)-/m);
  });
});
