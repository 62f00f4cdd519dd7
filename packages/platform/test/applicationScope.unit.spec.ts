import { decideScopedAccess, scopedTarget, type ApplicationScope } from '../src/applicationScope';

const OWN = '0190f0a4-7b7e-7c3d-8a1b-2c3d4e5f6a7b';
const OTHER = '0190f0a4-7b7e-7c3d-8a1b-000000000000';
const scope: ApplicationScope = { application: OWN, readOnly: false };
const readOnly: ApplicationScope = { application: OWN, readOnly: true };
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The decision for a request whose `{app}` (if any) resolves to `named`. */
const access = (who: ApplicationScope, method: string, path: string, named?: string) => decideScopedAccess(who, method, scopedTarget(path), named);

describe('what an application-scoped credential may call', () => {
  it('reads the path as Express routes it', () => {
    expect(scopedTarget('/api/v1/app/my-app/endpoint/ep_1')).toEqual({ kind: 'application', app: 'my-app', itself: false });
    expect(scopedTarget('/API/V1/APP/my-app')).toEqual({ kind: 'application', app: 'my-app', itself: true });
    expect(scopedTarget('/api/v1/app/my-app/')).toEqual({ kind: 'application', app: 'my-app', itself: true });
    expect(scopedTarget('/api/v1/app/%6Dy-app/msg')).toEqual({ kind: 'application', app: 'my-app', itself: false });
    expect(scopedTarget('/api/v1/app/a%2Fb/msg')).toEqual({ kind: 'application', app: 'a/b', itself: false });
    expect(scopedTarget('/api/v1/event-type/invoice.paid')).toEqual({ kind: 'catalogue' });
    expect(scopedTarget('/api/v1/Event-Type')).toEqual({ kind: 'catalogue' });
    expect(scopedTarget('/api/v1/health/')).toEqual({ kind: 'health' });
    expect(scopedTarget('/api/v1/auth/logout')).toEqual({ kind: 'logout' });
    expect(scopedTarget('/api/v1/background-task')).toEqual({ kind: 'backgroundTask' });
    expect(scopedTarget('/api/v1/background-task/qtask_1/cancel')).toEqual({ kind: 'backgroundTask' });
    for (const path of ['/api/v1/app', '/api/v1/app/', '/api/v1//app/x', '/api/v1/app//msg', '/api/v1/app/x//msg', '/api/v1/app/%E0%A4%A/msg', '/api/v2/app/x', '/api/v1', '/', '', '/subscriptions', '/ingest/x', '/deliveries', '/internal/applications/x', '/api/v1/auth/app-portal-access/x', '/api/v1/auth/logout/x', '/api/v1/health/x', '/api/v1/background-task/qtask_1/cancel/x', '/api/v1/background-task//cancel', 'api/v1/app/x', '/x/api/v1/app/x']) {
      expect({ path, target: scopedTarget(path) }).toEqual({ path, target: { kind: 'elsewhere' } });
    }
  });

  it('may do anything inside its own application, and only read the application itself', () => {
    for (const method of METHODS) {
      expect(access(scope, method, '/api/v1/app/own/endpoint', OWN)).toBe('allowed');
      expect(access(scope, method, '/api/v1/app/own/endpoint/ep_1/secret/rotate', OWN)).toBe('allowed');
    }
    expect(access(scope, 'GET', '/api/v1/app/own', OWN)).toBe('allowed');
    expect(access(scope, 'head', '/api/v1/app/own', OWN)).toBe('allowed');
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) expect(access(scope, method, '/api/v1/app/own', OWN)).toBe('forbidden');
  });

  it('reads background tasks, and cancels them unless read-only (the routes show it only its own)', () => {
    expect(access(scope, 'GET', '/api/v1/background-task')).toBe('allowed');
    expect(access(scope, 'GET', '/api/v1/background-task/qtask_1')).toBe('allowed');
    expect(access(scope, 'POST', '/api/v1/background-task/qtask_1/cancel')).toBe('allowed');
    expect(access(readOnly, 'GET', '/api/v1/background-task/qtask_1')).toBe('allowed');
    expect(access(readOnly, 'POST', '/api/v1/background-task/qtask_1/cancel')).toBe('forbidden');
  });

  it('with a read-only token, only reads its application', () => {
    expect(access(readOnly, 'GET', '/api/v1/app/own/msg', OWN)).toBe('allowed');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(access(readOnly, method, '/api/v1/app/own/endpoint', OWN)).toBe('forbidden');
    expect(access(readOnly, 'POST', '/api/v1/auth/logout')).toBe('allowed');
  });

  it('finds nothing of another application, nor of one that does not exist', () => {
    for (const method of METHODS) {
      expect(access(scope, method, '/api/v1/app/other/endpoint', OTHER)).toBe('not-found');
      expect(access(scope, method, '/api/v1/app/other', OTHER)).toBe('not-found');
      expect(access(scope, method, '/api/v1/app/nothing/msg', undefined)).toBe('not-found');
      expect(access(readOnly, method, '/api/v1/app/other/msg', OTHER)).toBe('not-found');
    }
    // a configured key whose application does not exist (yet) finds none
    expect(access({ application: undefined, readOnly: false }, 'GET', '/api/v1/app/x/msg', undefined)).toBe('not-found');
  });

  it('reads the event-type catalogue and health, and logs out; nothing else exists for it', () => {
    expect(access(scope, 'GET', '/api/v1/event-type')).toBe('allowed');
    expect(access(scope, 'GET', '/api/v1/event-type/invoice.paid')).toBe('allowed');
    expect(access(scope, 'GET', '/api/v1/health')).toBe('allowed');
    expect(access(scope, 'POST', '/api/v1/auth/logout')).toBe('allowed');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(access(scope, method, '/api/v1/event-type')).toBe('not-found');
      expect(access(scope, method, '/api/v1/event-type/invoice.paid')).toBe('not-found');
      expect(access(scope, method, '/api/v1/health')).toBe('not-found');
    }
    expect(access(scope, 'GET', '/api/v1/auth/logout')).toBe('not-found');
    for (const method of METHODS) {
      for (const path of ['/api/v1/app', '/api/v1/auth/app-portal-access/own', '/subscriptions', '/subscriptions/x/deliveries', '/ingest/x', '/deliveries', '/internal/applications/x', '/api/v1/stats/usage']) {
        expect({ method, path, access: access(scope, method, path, OWN) }).toEqual({ method, path, access: 'not-found' });
      }
    }
  });
});
