import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { toExternalId as contractsExternalId } from '@hookpost/contracts';
import { fromExternalId, toExternalId } from '../src/lib/externalIds';
import { sha256 } from '../src/lib/sha256';
import { apiSearch, filtersFrom, mayBelong, searchOf } from '../src/lib/deliveryFilters';
import type { DeliveryChange } from '../src/api/types';

// (parseEvents lives beside the React hook; the module only touches React when the hook runs)
jest.mock('react', () => ({}));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseEvents } = require('../src/lib/liveStream') as typeof import('../src/lib/liveStream');

describe("the dashboard's SHA-256", () => {
  it("is Node's, for every length around the block boundaries", () => {
    for (let length = 0; length < 200; length++) {
      const bytes = randomBytes(length);
      expect(Buffer.from(sha256(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});

describe('external ids in the browser', () => {
  it('are the API\'s, both ways', () => {
    for (let i = 0; i < 50; i++) {
      const uuid = randomUUID();
      for (const prefix of ['app', 'ep', 'msg', 'atmpt'] as const) {
        const external = toExternalId(prefix, uuid);
        expect(external).toBe(contractsExternalId(prefix, uuid));
        expect(fromExternalId(prefix, external)).toBe(uuid);
      }
    }
  });

  it('name nothing when changed or of another kind', () => {
    const external = toExternalId('app', randomUUID());
    expect(fromExternalId('ep', external)).toBeUndefined();
    expect(fromExternalId('app', `${external.slice(0, -1)}${external.endsWith('a') ? 'b' : 'a'}`)).toBeUndefined();
    expect(fromExternalId('app', 'my-app-uid')).toBeUndefined();
  });
});

describe('delivery filters', () => {
  it('round-trip through the URL and become the API search', () => {
    const filters = filtersFrom(new URLSearchParams('status=failed&event_type=invoice.paid&payload_contains=%7B%22a%22%3A1%7D&bogus=1'));
    expect(filters).toEqual({ status: 'failed', event_type: 'invoice.paid', payload_contains: '{"a":1}' });
    expect(filtersFrom(new URLSearchParams(searchOf(filters).slice(1)))).toEqual(filters);
    expect(apiSearch({ status: 'nonsense', created_after: '2026-01-02T03:04' })).toMatchObject({ status: undefined, created_after: new Date('2026-01-02T03:04').toISOString() });
  });

  const change = (over: Partial<DeliveryChange> = {}): DeliveryChange => ({
    id: 'd1',
    app_id: 'a1',
    message_id: 'm1',
    subscription_id: 's1',
    event_type: 'invoice.paid',
    status: 'pending',
    attempt_count: 0,
    next_attempt_at: null,
    last_status_code: null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...over,
  });
  const now = Date.parse('2026-01-01T00:00:01.000Z');

  it('say whether a new delivery may belong on the first page', () => {
    expect(mayBelong(change(), {}, now)).toBe(true);
    expect(mayBelong(change(), { app_id: 'a2' }, now)).toBe(false);
    expect(mayBelong(change(), { subscription_id: 's1', event_type: 'invoice.paid', status: 'pending' }, now)).toBe(true);
    expect(mayBelong(change(), { status: 'failed' }, now)).toBe(false);
    expect(mayBelong(change(), { cursor: 'x' }, now)).toBe(false);
    expect(mayBelong(change(), { created_before: '2025-12-31T00:00:00.000Z' }, now)).toBe(false);
  });
});

describe('the live stream reader', () => {
  it('splits complete events and keeps the rest', () => {
    const { events, rest } = parseEvents(': keep-alive\n\nevent: ready\ndata: {}\n\nevent: deliveries\ndata: [1,\ndata: 2]\n\nevent: deli');
    expect(events).toEqual([
      { event: 'ready', data: '{}' },
      { event: 'deliveries', data: '[1,\n2]' },
    ]);
    expect(rest).toBe('event: deli');
  });
});

describe("the portal's token", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { applicationOfToken, tabStorage, takePortalToken } = require('../src/portal/portalToken') as typeof import('../src/portal/portalToken');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AppTokens } = require('@hookpost/platform') as typeof import('@hookpost/platform');

  it('names the application the gateway issued it for', () => {
    const app = randomUUID();
    const token = new AppTokens([randomBytes(32)]).issue({ app, expiresInSeconds: 3_600, readOnly: false }, Date.now());
    expect(applicationOfToken(token)).toBe(contractsExternalId('app', app));
    expect(applicationOfToken('hpat_nonsense')).toBeUndefined();
  });

  it('moves from the fragment to the tab storage, out of the address bar', () => {
    const stored = new Map<string, string>();
    const storage = { getItem: (key: string) => stored.get(key) ?? null, setItem: (key: string, value: string) => void stored.set(key, value), removeItem: (key: string) => void stored.delete(key) };
    const replaced: string[] = [];
    const history = { replaceState: (_state: unknown, _title: string, url?: string | URL | null) => void replaced.push(String(url)) };
    const token = new AppTokens([randomBytes(32)]).issue({ app: randomUUID(), expiresInSeconds: 3_600, readOnly: false }, Date.now());
    expect(takePortalToken({ hash: `#token=${token}`, pathname: '/portal/', search: '' }, storage, history)).toBe(token);
    expect(replaced).toEqual(['/portal/']);
    expect(takePortalToken({ hash: '', pathname: '/portal/endpoints', search: '' }, storage, history)).toBe(token);
    // (whatever an embedding component appends after it)
    expect(takePortalToken({ hash: `#token=${token}&darkMode=true`, pathname: '/portal/', search: '' }, storage, history)).toBe(token);
    expect(takePortalToken({ hash: `#token=${token}?fullSize=1`, pathname: '/portal/', search: '' }, storage, history)).toBe(token);
  });

  it('stays in the fragment where the browser denies the frame its storage (third-party cookies blocked)', () => {
    const replaced: string[] = [];
    const history = { replaceState: (_state: unknown, _title: string, url?: string | URL | null) => void replaced.push(String(url)) };
    const denied = tabStorage(() => {
      throw new Error("Failed to read the 'sessionStorage' property from 'Window': Access is denied for this document.");
    });
    expect(denied).toBeUndefined();
    const token = new AppTokens([randomBytes(32)]).issue({ app: randomUUID(), expiresInSeconds: 3_600, readOnly: false }, Date.now());
    expect(takePortalToken({ hash: `#token=${token}`, pathname: '/portal/', search: '?primaryColor=%23000' }, denied, history)).toBe(token);
    expect(replaced).toEqual([]);
    expect(takePortalToken({ hash: '', pathname: '/portal/', search: '' }, denied, history)).toBeUndefined();
  });
});

describe('the base path (HOOKPOST_PUBLIC_URL with a path)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { gatewayPath, publicPath } = require('../src/lib/basePath') as typeof import('../src/lib/basePath');

  it('is empty where the page has no configuration (in Node, at the root)', () => {
    expect(publicPath('/ui/deliveries')).toBe('/ui/deliveries');
    expect(gatewayPath('/ui/deliveries')).toBe('/ui/deliveries');
  });

  it("takes the browser's path to the gateway's, and nothing outside the base", () => {
    expect(gatewayPath('/hookpost/ui/tasks', '/hookpost')).toBe('/ui/tasks');
    expect(gatewayPath('/hookpost', '/hookpost')).toBe('/');
    expect(gatewayPath('/hookposter/ui', '/hookpost')).toBeUndefined();
    expect(gatewayPath('/ui/tasks', '/hookpost')).toBeUndefined();
  });
});
