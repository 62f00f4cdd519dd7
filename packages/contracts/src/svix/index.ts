/** The Svix v1 API's contract: ids, bodies, errors, list parameters and the OpenAPI paths under /api/v1. */
export * from './ids';
export * from './schemas';
export * from './responses';
export * from './errors';
export * from './payloadSchema';
export * from './list';
export * from './openapi';
export * from './operational';
