import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MasterKeyError, parseMasterKeys, publishedMasterKeys } from '../src/masterKeys';
import { EnvError, commonEnv, parseEnv } from '../src/env';

const ROOT = path.resolve(__dirname, '../../..');
const fresh = () => randomBytes(32).toString('base64');

function problemOf(config: string | undefined): string {
  try {
    parseMasterKeys(config);
  } catch (error) {
    expect(error).toBeInstanceOf(MasterKeyError);
    return (error as Error).message;
  }
  throw new Error('expected a MasterKeyError');
}

describe('master keys (HOOKPOST_SECRET_KEYS)', () => {
  it('parses <key id>:<base64 of 32 bytes>, comma-separated, first first', () => {
    const [a, b] = [fresh(), fresh()];
    expect(parseMasterKeys(`new:${a}, old:${b}`)).toEqual([
      { id: 'new', key: Buffer.from(a, 'base64') },
      { id: 'old', key: Buffer.from(b, 'base64') },
    ]);
  });

  it('has no default: a service without one refuses to start, saying what to set and how to make one', () => {
    const { HOOKPOST_SECRET_KEYS } = commonEnv;
    for (const missing of [{}, { HOOKPOST_SECRET_KEYS: '' }, { HOOKPOST_SECRET_KEYS: '  ' }]) {
      expect(() => parseEnv({ HOOKPOST_SECRET_KEYS }, missing)).toThrow(EnvError);
      expect(() => parseEnv({ HOOKPOST_SECRET_KEYS }, missing)).toThrow(/HOOKPOST_SECRET_KEYS is required: set it to <key id>:<base64 of 32 bytes>.*openssl rand -base64 32/);
    }
  });

  it('refuses every key published in the repository, whatever id it is given', () => {
    for (const { key } of publishedMasterKeys) {
      expect(problemOf(`dev:${key}`)).toMatch(/^key "dev" is published .*openssl rand -base64 32/);
      expect(problemOf(`mine:${fresh()},other-id:${key}`)).toMatch(/^key "other-id" is published/);
    }
  });

  it('refuses malformed entries without quoting key material back', () => {
    const key = fresh();
    const cases: [string, RegExp][] = [
      [key, /^entry 1 is not <key id>:<base64 of 32 bytes>/],
      [`:${key}`, /^entry 1 is not/],
      [`a b:${key}`, /^entry 1: a key id is/],
      [`k:${randomBytes(16).toString('base64')}`, /^key "k" must be standard base64 of 32 random bytes/],
      [`k:${key.slice(0, -2)}!!`, /^key "k" must be standard base64/],
      [`k:${randomBytes(32).toString('base64url')}x`, /^key "k" must be standard base64/],
      [`k:${key},k:${fresh()}`, /names key id "k" twice/],
      [`k:${key},`, /^entry 2 is not/],
    ];
    for (const [config, expected] of cases) {
      const problem = problemOf(config);
      expect(problem).toMatch(expected);
      expect(problem).not.toContain(key.slice(0, 12));
    }
  });

  it('lists every <id>:<base64 of 32 bytes> written in the repository as published', () => {
    // Given every text file of the repository, committed or not yet (docs, compose, scripts, tests, source)
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    const listed = new Set(publishedMasterKeys.map(({ key }) => key));
    const unlisted: string[] = [];
    for (const file of files) {
      if (!/\.(ts|js|json|md|ya?ml|sh|env|txt)$|Dockerfile$/.test(file) || file === 'pnpm-lock.yaml' || !existsSync(path.join(ROOT, file))) continue;
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      // When a key is written, it is a key: 32 bytes of base64 after an id and a colon
      for (const match of text.matchAll(/[A-Za-z0-9_-]+:([A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])/g)) {
        if (Buffer.from(match[1]!, 'base64').length === 32 && !listed.has(match[1]!)) unlisted.push(`${file}: ${match[0]}`);
      }
    }
    // Then each is in publishedMasterKeys, so no service accepts it
    expect(unlisted).toEqual([]);
  });
});
