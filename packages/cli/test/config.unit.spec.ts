import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configFile, configPath, loadCredentials, normalizeUrl, resolveCredentials, tooOpen } from '../src/config';
import { NotLoggedIn } from '../src/errors';

describe('where the config file is', () => {
  it('follows each platform and XDG_CONFIG_HOME, and HOOKPOST_CONFIG above all', () => {
    expect(configPath({}, 'linux', '/home/ada')).toBe('/home/ada/.config/hookpost/config.json');
    expect(configPath({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/ada')).toBe('/xdg/hookpost/config.json');
    // (the XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored)
    expect(configPath({ XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/ada')).toBe('/home/ada/.config/hookpost/config.json');
    expect(configPath({}, 'darwin', '/Users/ada')).toBe('/Users/ada/Library/Application Support/hookpost/config.json');
    expect(configPath({ APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'win32', 'C:\\Users\\ada')).toContain('hookpost');
    expect(configPath({ HOOKPOST_CONFIG: '/etc/hp.json', XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/ada')).toBe('/etc/hp.json');
  });
});

describe('credentials', () => {
  it('normalizes the URL and refuses what cannot be a base URL', () => {
    expect(normalizeUrl('localhost:8000')).toBe('http://localhost:8000');
    expect(normalizeUrl('https://hooks.example.com/prefix/')).toBe('https://hooks.example.com/prefix');
    expect(() => normalizeUrl('ftp://example.com')).toThrow('http or https');
    expect(() => normalizeUrl('http://user:pw@example.com')).toThrow('must not carry a user or password');
    expect(() => normalizeUrl('http://example.com/?a=1')).toThrow('query or fragment');
  });

  it('takes HOOKPOST_URL and HOOKPOST_API_KEY over the stored values, one by one', () => {
    const stored = { url: 'http://stored:8000', apiKey: 'stored-key' };
    expect(resolveCredentials({}, stored)).toEqual(stored);
    expect(resolveCredentials({ HOOKPOST_API_KEY: 'env-key' }, stored)).toEqual({ url: 'http://stored:8000', apiKey: 'env-key' });
    expect(resolveCredentials({ HOOKPOST_URL: 'http://env:1', HOOKPOST_API_KEY: 'env-key' }, undefined)).toEqual({ url: 'http://env:1', apiKey: 'env-key' });
    expect(resolveCredentials({ HOOKPOST_URL: 'http://env:1' }, undefined)).toBeUndefined();
  });

  it('calls a file readable by group or others too open', () => {
    expect(tooOpen(0o100600, 'linux')).toBe(false);
    expect(tooOpen(0o100640, 'linux')).toBe(true);
    expect(tooOpen(0o100604, 'darwin')).toBe(true);
    expect(tooOpen(0o100666, 'win32')).toBe(false);
  });
});

describe('the config file on disk', () => {
  let dir: string;
  const umask = process.umask();
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hookpost-cli-config-'));
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  it('is written mode 0600 in a directory of mode 0700, whatever the umask', async () => {
    // Given a umask that would leave new files world-writable
    process.umask(0o000);
    const file = configFile(path.join(dir, 'nested', 'hookpost', 'config.json'), 'linux');

    // When the credentials are stored
    await file.write({ url: 'http://localhost:8000', apiKey: 'hp_secret' });

    // Then only the owner can read the file or enter its directory
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file.path))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file.path, 'utf8'))).toEqual({ url: 'http://localhost:8000', apiKey: 'hp_secret' });
    expect(await file.read()).toEqual({ credentials: { url: 'http://localhost:8000', apiKey: 'hp_secret' } });
  });

  it('narrows a directory that exists with a wider mode, and replaces a wider file with a 0600 one', async () => {
    const configDir = path.join(dir, 'hookpost');
    await mkdir(configDir, { mode: 0o755 });
    await chmod(configDir, 0o755);
    await writeFile(path.join(configDir, 'config.json'), '{}', { mode: 0o644 });
    await chmod(path.join(configDir, 'config.json'), 0o644);
    const file = configFile(path.join(configDir, 'config.json'), 'linux');

    await file.write({ url: 'http://a', apiKey: 'k' });

    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
  });

  it('warns about a file others can read, says how to log in when there is none, and is removed by logout', async () => {
    const file = configFile(path.join(dir, 'config.json'), 'linux');
    await expect(loadCredentials(file, {}, () => undefined)).rejects.toBeInstanceOf(NotLoggedIn);

    await writeFile(file.path, JSON.stringify({ url: 'http://a', apiKey: 'k' }));
    await chmod(file.path, 0o644);
    const warnings: string[] = [];
    expect(await loadCredentials(file, {}, (line) => warnings.push(line))).toEqual({ url: 'http://a', apiKey: 'k' });
    expect(warnings).toEqual([expect.stringContaining('can be read by other users (mode 644): chmod 600 it')]);

    expect(await file.remove()).toBe(true);
    expect(await file.remove()).toBe(false);
  });

  it('names the file when it is not JSON', async () => {
    const file = configFile(path.join(dir, 'config.json'), 'linux');
    await writeFile(file.path, 'url=http://a', { mode: 0o600 });
    await expect(file.read()).rejects.toThrow(`${file.path} is not JSON`);
  });
});
