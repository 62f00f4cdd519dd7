import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';

/** One ajv instance for every schema in the project: the same schemas feed the OpenAPI document. */
export const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addKeyword({ keyword: 'example' });

export type ValidationResult = { ok: true } | { ok: false; errors: string[]; /** The schema keywords that failed (e.g. additionalProperties). */ keywords?: string[] };
export type FieldError = { field: string; message: string };

/** Messages a person can act on, for the keywords whose ajv message only quotes the schema. */
const patternMessages = new Map<string, string>();
export function describePattern(pattern: string, message: string): void {
  patternMessages.set(pattern, message);
}

function messageOf(error: ErrorObject): string {
  if (error.keyword === 'pattern') return patternMessages.get(String(error.params.pattern)) ?? error.message ?? 'is invalid';
  if (error.keyword === 'false schema') return 'does not apply with the other fields given';
  return error.message ?? 'is invalid';
}

export function describeErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  // An `if` failure only repeats the error of its `then`, which names the field.
  return (errors ?? [])
    .filter((error) => error.keyword !== 'if')
    .map((error) => {
      let field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
      if (error.keyword === 'required') field = [field, error.params.missingProperty].filter(Boolean).join('.');
      if (error.keyword === 'additionalProperties') field = [field, error.params.additionalProperty].filter(Boolean).join('.');
      return { field: field || '(body)', message: messageOf(error) };
    });
}

export function compile(schema: object): (value: unknown) => ValidationResult & { fields?: FieldError[] } {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true };
    const fields = describeErrors(validate.errors);
    return { ok: false, errors: fields.map((f) => `${f.field}: ${f.message}`), fields, keywords: (validate.errors ?? []).map((error) => error.keyword) };
  };
}

/** The TypeScript type a JSON Schema (written `as const`) describes, for schemas that live outside this package. */
export type { FromSchema } from 'json-schema-to-ts';
