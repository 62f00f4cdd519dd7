import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';

/** One ajv instance for every schema in the project: the same schemas feed the OpenAPI document. */
export const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addKeyword({ keyword: 'example' });

export type ValidationResult = { ok: true } | { ok: false; errors: string[] };
export type FieldError = { field: string; message: string };

export function describeErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((error) => {
    let field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (error.keyword === 'required') field = [field, error.params.missingProperty].filter(Boolean).join('.');
    if (error.keyword === 'additionalProperties') field = [field, error.params.additionalProperty].filter(Boolean).join('.');
    return { field: field || '(body)', message: error.message ?? 'is invalid' };
  });
}

export function compile(schema: object): (value: unknown) => ValidationResult & { fields?: FieldError[] } {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true };
    const fields = describeErrors(validate.errors);
    return { ok: false, errors: fields.map((f) => `${f.field}: ${f.message}`), fields };
  };
}

/** The TypeScript type a JSON Schema (written `as const`) describes, for schemas that live outside this package. */
export type { FromSchema } from 'json-schema-to-ts';
