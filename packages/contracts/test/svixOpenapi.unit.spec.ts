import { existsSync, readFileSync } from 'node:fs';
import { openApiDocument, operationalEventTypes, svixOpenApi, svixQueryParameters } from '../src';

/**
 * The operations of Svix's v1 core API (method, path, operationId, success statuses), as the reference
 * document lists them (/work/shared/reference/svix-v1-core.openapi.json, not in the repository).
 */
const svixReferenceOperations: [string, string, string, number[]][] = [
  ['get', '/api/v1/app', 'v1.application.list', [200]],
  ['post', '/api/v1/app', 'v1.application.create', [200, 201]],
  ['delete', '/api/v1/app/{app_id}', 'v1.application.delete', [204]],
  ['get', '/api/v1/app/{app_id}', 'v1.application.get', [200]],
  ['patch', '/api/v1/app/{app_id}', 'v1.application.patch', [200]],
  ['put', '/api/v1/app/{app_id}', 'v1.application.upsert', [200, 201]],
  ['get', '/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}', 'v1.message-attempt.list-by-endpoint', [200]],
  ['get', '/api/v1/app/{app_id}/attempt/msg/{msg_id}', 'v1.message-attempt.list-by-msg', [200]],
  ['get', '/api/v1/app/{app_id}/endpoint', 'v1.endpoint.list', [200]],
  ['post', '/api/v1/app/{app_id}/endpoint', 'v1.endpoint.create', [201]],
  ['delete', '/api/v1/app/{app_id}/endpoint/{endpoint_id}', 'v1.endpoint.delete', [204]],
  ['get', '/api/v1/app/{app_id}/endpoint/{endpoint_id}', 'v1.endpoint.get', [200]],
  ['patch', '/api/v1/app/{app_id}/endpoint/{endpoint_id}', 'v1.endpoint.patch', [200]],
  ['put', '/api/v1/app/{app_id}/endpoint/{endpoint_id}', 'v1.endpoint.upsert', [200, 201]],
  ['get', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers', 'v1.endpoint.get-headers', [200]],
  ['patch', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers', 'v1.endpoint.patch-headers', [204]],
  ['put', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers', 'v1.endpoint.set-headers', [204]],
  ['get', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg', 'v1.message-attempt.list-attempted-messages', [200]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover', 'v1.endpoint.recover', [202]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing', 'v1.endpoint.replay-missing', [202]],
  ['get', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret', 'v1.endpoint.get-secret', [200]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate', 'v1.endpoint.rotate-secret', [204]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example', 'v1.endpoint.send-example', [202]],
  ['get', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats', 'v1.endpoint.get-stats', [200]],
  ['get', '/api/v1/app/{app_id}/msg', 'v1.message.list', [200]],
  ['post', '/api/v1/app/{app_id}/msg', 'v1.message.create', [202]],
  ['get', '/api/v1/app/{app_id}/msg/{msg_id}', 'v1.message.get', [200]],
  ['get', '/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}', 'v1.message-attempt.get', [200]],
  ['delete', '/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content', 'v1.message-attempt.expunge-content', [204]],
  ['delete', '/api/v1/app/{app_id}/msg/{msg_id}/content', 'v1.message.expunge-content', [204]],
  ['get', '/api/v1/app/{app_id}/msg/{msg_id}/endpoint', 'v1.message-attempt.list-attempted-destinations', [200]],
  ['post', '/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend', 'v1.message-attempt.resend', [202]],
  ['post', '/api/v1/auth/app-portal-access/{app_id}', 'v1.authentication.app-portal-access', [200]],
  ['post', '/api/v1/auth/logout', 'v1.authentication.logout', [204]],
  ['get', '/api/v1/event-type', 'v1.event-type.list', [200]],
  ['post', '/api/v1/event-type', 'v1.event-type.create', [201]],
  ['delete', '/api/v1/event-type/{event_type_name}', 'v1.event-type.delete', [204]],
  ['get', '/api/v1/event-type/{event_type_name}', 'v1.event-type.get', [200]],
  ['patch', '/api/v1/event-type/{event_type_name}', 'v1.event-type.patch', [200]],
  ['put', '/api/v1/event-type/{event_type_name}', 'v1.event-type.upsert', [200, 201]],
  ['get', '/api/v1/health', 'v1.health.get', [204]],
  ['get', '/api/v1/operational-webhook/endpoint', 'v1.operational-webhook.endpoint.list', [200]],
  ['post', '/api/v1/operational-webhook/endpoint', 'v1.operational-webhook.endpoint.create', [201]],
  ['delete', '/api/v1/operational-webhook/endpoint/{endpoint_id}', 'v1.operational-webhook.endpoint.delete', [204]],
  ['get', '/api/v1/operational-webhook/endpoint/{endpoint_id}', 'v1.operational-webhook.endpoint.get', [200]],
  ['put', '/api/v1/operational-webhook/endpoint/{endpoint_id}', 'v1.operational-webhook.endpoint.upsert', [200]],
  ['get', '/api/v1/operational-webhook/endpoint/{endpoint_id}/headers', 'v1.operational-webhook.endpoint.get-headers', [200]],
  ['put', '/api/v1/operational-webhook/endpoint/{endpoint_id}/headers', 'v1.operational-webhook.endpoint.set-headers', [204]],
  ['get', '/api/v1/operational-webhook/endpoint/{endpoint_id}/secret', 'v1.operational-webhook.endpoint.get-secret', [200]],
  ['post', '/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate', 'v1.operational-webhook.endpoint.rotate-secret', [204]],
];
/** Hookpost's own operations beside Svix's (extensions a Svix client does not call). */
const hookpostOperations: [string, string, string, number[]][] = [
  ['get', '/api/v1/app/{app_id}/msg/{msg_id}/filtered-endpoint', 'hookpost.message.list-filtered-endpoints', [200]],
];
const REFERENCE = '/work/shared/reference/svix-v1-core.openapi.json';

/**
 * Beyond the reference: Svix's background-task reads (in Svix's full API, not its core), and Hookpost's own
 * operations in the same style.
 */
const extensionOperations: [string, string, string, number[]][] = [
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/pause', 'v1.endpoint.pause', [204]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/resume', 'v1.endpoint.resume', [204]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/ordered/skip-head', 'v1.endpoint.ordered.skip-head', [204]],
  ['post', '/api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-from-log', 'v1.endpoint.replay-from-log', [202]],
  ['get', '/api/v1/background-task', 'v1.background-task.list', [200]],
  ['get', '/api/v1/background-task/{task_id}', 'v1.background-task.get', [200]],
  ['post', '/api/v1/background-task/{task_id}/cancel', 'v1.background-task.cancel', [202]],
];

type Json = Record<string, any>;
const methods = ['get', 'put', 'post', 'delete', 'patch'];
function operationsOf(paths: Json): [string, string, Json][] {
  return Object.entries(paths).flatMap(([path, item]) => methods.filter((method) => item[method]).map((method): [string, string, Json] => [method, path, item[method]]));
}
function refsIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((child) => refsIn(child, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.add(value);
      else refsIn(value, found);
    }
  }
  return found;
}

describe('the Svix part of the OpenAPI document', () => {
  const full = svixOpenApi() as { paths: Json; schemas: Json; webhooks: Json };

  it('states every operation of Svix v1 core, with its operationId and success statuses', () => {
    const stated = new Map(operationsOf(full.paths).map(([method, path, operation]) => [`${method} ${path}`, operation]));
    for (const [method, path, operationId, statuses] of [...svixReferenceOperations, ...hookpostOperations, ...extensionOperations]) {
      const operation = stated.get(`${method} ${path}`);
      expect({ method, path, operationId: operation?.operationId }).toEqual({ method, path, operationId });
      expect(Object.keys(operation!.responses).map(Number).filter((status) => status < 300).sort()).toEqual(statuses);
    }
    expect(stated.size).toBe(svixReferenceOperations.length + hookpostOperations.length + extensionOperations.length);
  });

  it('states what operational endpoints receive as the document\'s webhooks, one body schema per event type', () => {
    const document = openApiDocument() as Json;
    expect(Object.keys(document.webhooks).sort()).toEqual([...operationalEventTypes].sort());
    const schemas = document.components.schemas as Json;
    for (const type of operationalEventTypes) {
      const body = document.webhooks[type].post.requestBody.content['application/json'].schema.$ref.replace('#/components/schemas/', '');
      expect(schemas[body].properties.type).toEqual({ const: type });
      expect(schemas[schemas[body].properties.data.$ref.replace('#/components/schemas/', '')]).toBeDefined();
    }
    expect(schemas.EndpointDisabledEvent).toBeDefined();
    expect(schemas.MessageAttemptExhaustedEvent).toBeDefined();
  });

  it('is merged into the one document: every Svix path and component is in it, and every $ref resolves', () => {
    const document = openApiDocument() as Json;
    const core = full;
    const schemas = document.components.schemas as Json;
    for (const name of Object.keys(core.schemas)) expect(schemas[name]).toBeDefined();
    for (const path of Object.keys(core.paths)) expect(document.paths[path]).toEqual(core.paths[path]);
    // (the seed API's own components stay: no Svix name replaced one)
    for (const name of ['Subscription', 'Delivery', 'Attempt', 'Problem', 'JsonValue', 'JsonObject']) expect(schemas[name]).toBeDefined();
    for (const ref of refsIn([document.paths, document.webhooks, schemas])) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas[ref.replace('#/components/schemas/', '')]).toBeDefined();
    }
    expect(JSON.stringify(full)).not.toContain('$id');
  });

  it('gives every operation a unique operationId, its path parameters, and an Idempotency-Key on every POST', () => {
    const ids = operationsOf(full.paths).map(([, , operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [method, path, operation] of operationsOf(full.paths)) {
      const declared = (full.paths[path]!.parameters ?? []).map((parameter: Json) => parameter.name).sort();
      expect(declared).toEqual([...path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]).sort());
      const headers = (operation.parameters ?? []).filter((parameter: Json) => parameter.in === 'header').map((parameter: Json) => parameter.name);
      expect(headers).toEqual(method === 'post' ? ['idempotency-key'] : []);
    }
  });

  it('states the query parameters the parser reads, from the same table', () => {
    const stated = new Map(operationsOf(full.paths).map(([, , operation]) => [operation.operationId, operation]));
    for (const [operationId, parameters] of Object.entries(svixQueryParameters)) {
      const operation = stated.get(operationId);
      expect(operation).toBeDefined();
      const names = (operation!.parameters ?? []).filter((parameter: Json) => parameter.in === 'query').map((parameter: Json) => parameter.name);
      expect(names).toEqual(Object.keys(parameters));
    }
    const limit = stated.get('v1.message.list')!.parameters.find((parameter: Json) => parameter.name === 'limit');
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 250, default: 50 });
  });

  it('answers errors in the Svix shapes: 422 as HTTPValidationError, the others as HttpErrorOut, 503 with Retry-After', () => {
    for (const [, , operation] of operationsOf(full.paths)) {
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        if (Number(status) < 400) continue;
        const schema = response.content['application/json'].schema.$ref;
        expect(schema).toBe(Number(status) === 422 ? '#/components/schemas/HTTPValidationError' : '#/components/schemas/HttpErrorOut');
        if (Number(status) === 503) expect(response.headers['Retry-After']).toBeDefined();
      }
    }
  });

  it('asks for no key on health, and relies on the document-wide bearer key elsewhere', () => {
    expect(full.paths['/api/v1/health']!.get.security).toEqual([]);
    expect(full.paths['/api/v1/app']!.get.security).toBeUndefined();
  });

  it('states the payload filter (Hookpost\'s) on endpoints as components, one per level, each nesting less', () => {
    const ref = (name: string) => `#/components/schemas/${name}`;
    for (const body of ['EndpointIn', 'EndpointUpdate', 'EndpointPatch', 'EndpointOut']) expect(full.schemas[body]!.properties.payloadFilter.$ref).toBe(ref('PayloadFilter'));
    expect(full.schemas.EndpointOut!.required).toContain('payloadFilter');
    const { PayloadFilter, PayloadFilterNegated, PayloadFilterNested, PayloadFilterNestedNegated, PayloadFilterInnermost } = full.schemas;
    expect(PayloadFilter.type).toEqual(['object', 'null']);
    expect([PayloadFilter.properties.and.items.$ref, PayloadFilter.properties.not.$ref]).toEqual([ref('PayloadFilterNested'), ref('PayloadFilterNegated')]);
    expect([PayloadFilterNegated.properties.or.items.$ref, PayloadFilterNegated.properties.not]).toEqual([ref('PayloadFilterNested'), undefined]);
    expect([PayloadFilterNested.properties.and.items.$ref, PayloadFilterNested.properties.not.$ref]).toEqual([ref('PayloadFilterInnermost'), ref('PayloadFilterNestedNegated')]);
    expect(PayloadFilterNestedNegated.properties.not).toBeUndefined();
    expect([PayloadFilterInnermost.properties.and, PayloadFilterInnermost.properties.not.$ref]).toEqual([undefined, ref('PayloadFilterCondition')]);
  });

  it('states free-form objects of bodies as the document\'s JsonObject', () => {
    expect(full.schemas.MessageIn!.properties.payload.$ref).toBe('#/components/schemas/JsonObject');
    expect(full.schemas.EventTypeIn!.properties.schemas.additionalProperties.$ref).toBe('#/components/schemas/JsonObject');
  });

  (existsSync(REFERENCE) ? it : it.skip)(`states the query parameters of the reference document (${REFERENCE}; skipped where it is absent)`, () => {
    const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as Json;
    const ours = new Map(operationsOf(full.paths).map(([method, path, operation]) => [`${method} ${path}`, operation]));
    for (const [method, path, operation] of operationsOf(reference.paths)) {
      const names = (operation.parameters ?? []).filter((parameter: Json) => parameter.in === 'query').map((parameter: Json) => parameter.name).sort();
      const stated = (ours.get(`${method} ${path}`)!.parameters ?? []).filter((parameter: Json) => parameter.in === 'query').map((parameter: Json) => parameter.name).sort();
      expect({ operation: operation.operationId, query: stated }).toEqual({ operation: operation.operationId, query: names });
    }
  });
});
