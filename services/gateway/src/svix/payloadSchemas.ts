import { checkPayload, currentPayloadSchema, payloadErrorFields, type EventTypeState, type FieldError } from '@hookpost/contracts';

/**
 * Why a message's payload does not match its event type's JSON Schema (the highest schema version it has),
 * as failing paths for a 422; undefined when it matches or the event type has no schema.
 */
export function payloadSchemaProblems(eventType: EventTypeState, payload: unknown): FieldError[] | undefined {
  const schema = currentPayloadSchema(eventType.schemas);
  if (schema === undefined) return undefined;
  const result = checkPayload(schema, payload);
  return result.ok ? undefined : payloadErrorFields(result.errors);
}
