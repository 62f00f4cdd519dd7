import type { EventTypeState, FieldError } from '@hookpost/contracts';
import { checkPayload } from '@hookpost/contracts';

/**
 * Why a message's payload does not match its event type's JSON Schema (the highest schema version it has),
 * as failing paths for a 422; undefined when it matches or the event type has no schema.
 */
export function payloadSchemaProblems(eventType: EventTypeState, payload: unknown): FieldError[] | undefined {
  const versions = Object.keys(eventType.schemas ?? {}).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const latest = versions[versions.length - 1];
  if (latest === undefined) return undefined;
  const result = checkPayload(eventType.schemas![latest]!, payload);
  return result.ok ? undefined : result.errors.map((error) => ({ field: `payload${error.path}`, message: error.message }));
}
