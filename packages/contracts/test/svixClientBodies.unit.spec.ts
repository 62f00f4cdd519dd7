import { ApplicationInSerializer } from 'svix/dist/models/applicationIn';
import { AppPortalAccessInSerializer } from 'svix/dist/models/appPortalAccessIn';
import { AppPortalCapability } from 'svix/dist/models/appPortalCapability';
import { EndpointHeadersPatchInSerializer } from 'svix/dist/models/endpointHeadersPatchIn';
import { EndpointInSerializer } from 'svix/dist/models/endpointIn';
import { EndpointPatchSerializer } from 'svix/dist/models/endpointPatch';
import { EndpointSecretRotateInSerializer } from 'svix/dist/models/endpointSecretRotateIn';
import { EndpointUpdateSerializer } from 'svix/dist/models/endpointUpdate';
import { EventTypeInSerializer } from 'svix/dist/models/eventTypeIn';
import { EventTypePatchSerializer } from 'svix/dist/models/eventTypePatch';
import { EventTypeUpdateSerializer } from 'svix/dist/models/eventTypeUpdate';
import { MessageInSerializer } from 'svix/dist/models/messageIn';
import { RecoverInSerializer } from 'svix/dist/models/recoverIn';
import {
  validateAppPortalAccessIn,
  validateApplicationIn,
  validateEndpointHeadersPatchIn,
  validateEndpointIn,
  validateEndpointPatch,
  validateEndpointSecretRotateIn,
  validateEndpointUpdate,
  validateEventTypeIn,
  validateEventTypePatch,
  validateEventTypeUpsertIn,
  validateMessageIn,
  validateRecoverIn,
} from '../src';

/** What the svix 1.x client puts on the wire: its serializer's object, through JSON as it sends it. */
const wire = (object: unknown): unknown => JSON.parse(JSON.stringify(object));
const secret = 'whsec_' + Buffer.alloc(32, 5).toString('base64');

describe('bodies the svix npm client (1.x) sends', () => {
  it.each<[string, unknown, (body: unknown) => { ok: boolean }]>([
    ['ApplicationIn', ApplicationInSerializer._toJsonObject({ name: 'Acme', uid: 'acme', metadata: { a: 'b' }, throttleRate: 5, rateLimit: 5 }), validateApplicationIn],
    [
      'EndpointIn',
      EndpointInSerializer._toJsonObject({
        url: 'https://example.com/hook',
        description: 'd',
        filterTypes: ['invoice.paid'],
        channels: ['project_1'],
        disabled: false,
        headers: { 'X-Tenant': 't' },
        metadata: {},
        secret,
        throttleRate: 10,
        uid: 'ep-1',
        version: 1,
      }),
      validateEndpointIn,
    ],
    ['EndpointUpdate', EndpointUpdateSerializer._toJsonObject({ url: 'https://example.com/hook', filterTypes: null, channels: null, version: 2 }), validateEndpointUpdate],
    ['EndpointPatch', EndpointPatchSerializer._toJsonObject({ disabled: true, filterTypes: ['a'], secret }), validateEndpointPatch],
    ['EndpointHeadersPatchIn', EndpointHeadersPatchInSerializer._toJsonObject({ headers: { 'X-A': '1' }, deleteHeaders: ['X-B'] }), validateEndpointHeadersPatchIn],
    ['EndpointSecretRotateIn (empty)', EndpointSecretRotateInSerializer._toJsonObject({}), validateEndpointSecretRotateIn],
    ['EndpointSecretRotateIn', EndpointSecretRotateInSerializer._toJsonObject({ key: secret, gracePeriodSeconds: 60 }), validateEndpointSecretRotateIn],
    ['EventTypeIn', EventTypeInSerializer._toJsonObject({ name: 'invoice.paid', description: 'Paid', schemas: { '1': { type: 'object' } } }), validateEventTypeIn],
    ['EventTypeUpdate', EventTypeUpdateSerializer._toJsonObject({ description: 'Paid', archived: false }), validateEventTypeUpsertIn],
    ['EventTypePatch', EventTypePatchSerializer._toJsonObject({ deprecated: true }), validateEventTypePatch],
    [
      'MessageIn',
      MessageInSerializer._toJsonObject({
        eventType: 'invoice.paid',
        payload: { id: 'in_1' },
        eventId: 'evt_1',
        channels: ['project_1'],
        tags: ['t1'],
        application: { name: 'Acme', uid: 'acme' },
        deliverAt: new Date('2030-01-01T00:00:00Z'),
      }),
      validateMessageIn,
    ],
    ['RecoverIn', RecoverInSerializer._toJsonObject({ since: new Date('2026-01-01T00:00:00Z') }), validateRecoverIn],
    ['AppPortalAccessIn', AppPortalAccessInSerializer._toJsonObject({ capabilities: [AppPortalCapability.ViewBase], expiry: 3600 }), validateAppPortalAccessIn],
  ])('%s passes its schema', (_name, body, validate) => {
    expect(validate(wire(body))).toEqual({ ok: true });
  });
});
