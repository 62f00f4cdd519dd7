import { helpText, intOption, keyValues, listOption, parseCommandLine } from '../src/commandLine';
import { UsageError } from '../src/errors';

const run = (argv: string[]) => {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'run') throw new Error(`expected a command, got ${parsed.kind}`);
  return parsed;
};

describe('reading the command line', () => {
  it('finds a grouped command, its positionals and its options', () => {
    const parsed = run(['endpoints', 'create', 'app_1', 'https://example.com/hook', '--event-types', 'a.b,c.d', '--metadata', 'team=x', '--metadata', 'tier=1']);
    expect(parsed.command.id).toBe('endpoints.create');
    expect(parsed.args).toEqual({ app: 'app_1', url: 'https://example.com/hook' });
    expect(parsed.options).toMatchObject({ 'event-types': 'a.b,c.d', metadata: ['team=x', 'tier=1'] });
    expect(parsed.json).toBe(false);
  });

  it('takes the global flags anywhere: before the command, between its arguments, after them', () => {
    expect(run(['--json', 'apps', 'list'])).toMatchObject({ json: true, command: { id: 'apps.list' } });
    expect(run(['apps', '--json', 'list'])).toMatchObject({ json: true, command: { id: 'apps.list' } });
    expect(run(['send', 'app', 'type', '{}', '--json', '--no-color'])).toMatchObject({ json: true, noColor: true, args: { payload: '{}' } });
  });

  it('leaves optional positionals undefined and takes short options', () => {
    expect(run(['messages', 'app_1']).args).toEqual({ app: 'app_1', message: undefined });
    expect(run(['attempts', 'app_1', '-m', 'msg_1', '-e', 'ep_1']).options).toMatchObject({ message: 'msg_1', endpoint: 'ep_1' });
    expect(run(['tail', 'app', '-e', 'ep_1', '-e', 'ep_2']).options.endpoint).toEqual(['ep_1', 'ep_2']);
  });

  it.each([
    [['frobnicate'], /unknown command `frobnicate`/],
    [['apps'], /needs a subcommand: list, create, get, delete/],
    [['apps', 'explode'], /takes list, create, get, delete/],
    [['apps', 'list', '--colour'], /Unknown option '--colour'.*apps list --help/],
    [['apps', 'get'], /missing <app>: hookpost apps get <app>/],
    [['apps', 'get', 'a', 'b'], /unexpected argument "b"/],
    [['send', 'app', 'type', '--file'], /--file/],
    [['--bogus'], /unknown option --bogus/],
  ])('refuses %j with a usage error saying what is wrong', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  it('answers help for the tool, a group and a command, and the version', () => {
    expect(parseCommandLine([])).toMatchObject({ kind: 'help' });
    expect(parseCommandLine(['--help'])).toMatchObject({ kind: 'help' });
    expect(parseCommandLine(['help', 'listen'])).toMatchObject({ kind: 'help', text: expect.stringContaining('--listen-port') });
    expect(parseCommandLine(['apps', '--help'])).toMatchObject({ kind: 'help', text: expect.stringContaining('hookpost apps delete <app>') });
    // (help wins over a missing argument: `hookpost apps get --help` must not fail for want of <app>)
    expect(parseCommandLine(['apps', 'get', '--help'])).toMatchObject({ kind: 'help', text: expect.stringContaining('Usage: hookpost apps get <app>') });
    expect(parseCommandLine(['--version'])).toMatchObject({ kind: 'version' });
  });

  it('states every exit status in the help', () => {
    expect(helpText([])).toMatch(/0 done, 1 Hookpost refused, 2 usage, 3 Hookpost unreachable, 4 not logged in or key refused, 5 signature not verified/);
  });
});

describe('option values', () => {
  it('splits comma lists and drops empty parts; an empty value is an empty list', () => {
    expect(listOption('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(listOption('')).toEqual([]);
    expect(listOption(undefined)).toBeUndefined();
  });

  it('takes whole numbers within bounds only', () => {
    expect(intOption('250', 'limit', { min: 1, max: 250 })).toBe(250);
    expect(intOption(undefined, 'limit', { min: 1, max: 250 })).toBeUndefined();
    for (const bad of ['0', '251', '1.5', '-1', 'ten', '']) expect(() => intOption(bad, 'limit', { min: 1, max: 250 })).toThrow('--limit must be a whole number from 1 to 250');
  });

  it('reads key=value pairs, the value keeping any further =', () => {
    expect(keyValues(['team=a', 'query=x=1'], 'metadata')).toEqual({ team: 'a', query: 'x=1' });
    expect(() => keyValues(['novalue'], 'metadata')).toThrow('--metadata takes key=value');
    expect(() => keyValues(['=x'], 'metadata')).toThrow(UsageError);
  });
});
