import { EnvError, envs, parseEnv } from '../src/env';

describe('parseEnv', () => {
  const spec = { PORT: envs.int(8000, { min: 0, max: 65535 }), NAME: envs.string(), PREFIX: envs.string(''), ON: envs.bool(false), SCHEDULE: envs.durations([0, 5]) };

  it('applies defaults and parses values', () => {
    expect(parseEnv(spec, { NAME: 'x', SCHEDULE: '0, 200,400' })).toEqual({ PORT: 8000, NAME: 'x', PREFIX: '', ON: false, SCHEDULE: [0, 200, 400] });
  });

  it('reports every problem at once', () => {
    try {
      parseEnv(spec, { PORT: '70000', ON: 'maybe', SCHEDULE: '1,x' });
      throw new Error('expected EnvError');
    } catch (error) {
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).problems).toEqual([
        expect.stringContaining('PORT must be <= 65535'),
        expect.stringContaining('NAME is required'),
        expect.stringContaining('ON must be true or false'),
        expect.stringContaining('SCHEDULE must be comma-separated milliseconds'),
      ]);
    }
  });
});

describe('envs.optionalHttpUrl', () => {
  const spec = { URL: envs.optionalHttpUrl() };

  it('takes an http(s) URL without its trailing slashes, or nothing', () => {
    expect(parseEnv(spec, {})).toEqual({ URL: '' });
    expect(parseEnv(spec, { URL: ' ' })).toEqual({ URL: '' });
    expect(parseEnv(spec, { URL: 'https://hooks.example.com/' })).toEqual({ URL: 'https://hooks.example.com' });
    expect(parseEnv(spec, { URL: 'http://127.0.0.1:8000/hookpost' })).toEqual({ URL: 'http://127.0.0.1:8000/hookpost' });
  });

  it('refuses anything else', () => {
    for (const URL of ['hooks.example.com', 'ftp://example.com', 'https://example.com/?a=1', 'https://example.com/#x', 'javascript:alert(1)']) {
      expect(() => parseEnv(spec, { URL })).toThrow(EnvError);
    }
  });
});
