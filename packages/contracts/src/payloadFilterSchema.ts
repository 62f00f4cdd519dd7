import { TEXT_PATTERN } from './api';
import { ajv, compile, describePattern } from './validation';

/**
 * Payload filters (a Hookpost extension of Svix's endpoints): an endpoint's `payloadFilter` says which
 * messages it takes by their payload, beyond the event type and channels. A filter is a condition on one
 * JSON path of the payload, or `and` / `or` / `not` of filters:
 *
 *   {"and": [{"path": "$.data.amount", "gte": 100}, {"path": "$.type", "in": ["invoice.paid", "invoice.late"]}]}
 *
 * A condition is `path` and exactly one operator: `eq` (a string, number, boolean or null), `in` (a list of
 * them), `lt` / `lte` / `gt` / `gte` (a number or a string) or `exists` (true or false). The meaning is in
 * payloadFilter.ts (the evaluator), the limits here, in the schema itself, so that what the document states
 * is exactly what the gateway takes:
 * - `and` / `or` nest at most two deep: the outermost takes up to 16 filters, one inside it up to 8, and
 *   inside that only conditions (or `not` of one). `not` wraps any filter but another `not`. So a filter has
 *   at most 128 conditions, and evaluating it costs at most that many path walks of the payload (plus what
 *   `[*]` reads, bounded per evaluation: see payloadFilter.ts);
 * - a path has at most 256 characters and at most one `[*]`; strings compared with have at most 256
 *   characters; `in` lists at most 32 values.
 *
 * JSON Schema cannot count depth (and a recursive schema would leave it unbounded, and defeat test
 * generators), so the schema is written as levels, each allowing less nesting than the one before, and beside
 * each the same level without `not` (what a `not` there wraps). Each is registered in the project's ajv
 * instance under its $id and referenced by it; the OpenAPI document states them as components of the same
 * names.
 */

export const payloadFilterLimits = {
  /** Filters in the outermost and/or. */
  outerItems: 16,
  /** Filters in an and/or inside another. */
  innerItems: 8,
  pathLength: 256,
  stringLength: 256,
  inValues: 32,
  /** outerItems × innerItems. */
  conditions: 128,
  /** What a recorded reason for a filtered-out message may hold (see MessageRouted.filtered). */
  detailLength: 200,
} as const;

export const payloadFilterOperators = ['eq', 'in', 'lt', 'lte', 'gt', 'gte', 'exists'] as const;
export type PayloadFilterOperator = (typeof payloadFilterOperators)[number];

/**
 * A JSON path, in the subset of RFC 9535 the evaluator reads: `$` (the payload), then members `.name`
 * (letters, digits, `_` and `-`, not starting with a digit or `-`) or `["any name"]` (no `"`, `\` or U+0000 in it),
 * array elements `[0]`, and at most one wildcard `[*]` (every element of an array, every member value of an
 * object). Each part begins with a character no other part begins with, so the pattern never backtracks.
 */
const SEGMENT = '(?:\\.[A-Za-z_][A-Za-z0-9_-]*|\\[(?:0|[1-9][0-9]{0,8})\\]|\\["[^"\\\\\\u0000]*"\\])';
export const PAYLOAD_FILTER_PATH_PATTERN = `^\\$${SEGMENT}*(?:\\[\\*\\]${SEGMENT}*)?$`;
describePattern(PAYLOAD_FILTER_PATH_PATTERN, 'must be a JSON path: $ then .name, ["name"], [0] or one [*]');

// (strings as the body parser takes them: no U+0000, well-formed Unicode)
const scalar = { type: ['string', 'number', 'boolean', 'null'], maxLength: payloadFilterLimits.stringLength, pattern: TEXT_PATTERN } as const;
const comparable = { type: ['number', 'string'], maxLength: payloadFilterLimits.stringLength, pattern: TEXT_PATTERN } as const;

const conditionProperties = {
  path: { type: 'string', minLength: 1, maxLength: payloadFilterLimits.pathLength, pattern: PAYLOAD_FILTER_PATH_PATTERN, description: 'Where in the payload: $.data.amount, $["a b"], $.items[0], $.items[*].sku (well-formed Unicode without U+0000).' },
  eq: { ...scalar, description: 'The value there equals this one (same type; no conversion).' },
  in: { type: 'array', minItems: 1, maxItems: payloadFilterLimits.inValues, items: scalar, description: 'The value there equals one of these.' },
  lt: { ...comparable, description: 'The value there is a number below this number, or a string before this string.' },
  lte: { ...comparable, description: 'As lt, or equal.' },
  gt: { ...comparable, description: 'The value there is a number above this number, or a string after this string.' },
  gte: { ...comparable, description: 'As gt, or equal.' },
  exists: { type: 'boolean', description: 'true: something (null included) is there; false: nothing is.' },
} as const;

export const PAYLOAD_FILTER_SCHEMA_IDS = {
  outer: 'PayloadFilter',
  outerNegated: 'PayloadFilterNegated',
  nested: 'PayloadFilterNested',
  nestedNegated: 'PayloadFilterNestedNegated',
  innermost: 'PayloadFilterInnermost',
  condition: 'PayloadFilterCondition',
} as const;

/** A condition: the path and exactly one operator. */
const conditionRule = { required: ['path'], properties: { path: true }, minProperties: 2, maxProperties: 2 } as const;

export const payloadFilterConditionSchema = {
  $id: PAYLOAD_FILTER_SCHEMA_IDS.condition,
  description: 'A condition on one path of the payload: path and exactly one operator.',
  type: 'object',
  additionalProperties: false,
  properties: conditionProperties,
  required: ['path'],
  minProperties: 2,
  maxProperties: 2,
} as const;

/** What is inside an inner and/or: a condition, or not of one. */
export const payloadFilterInnermostSchema = {
  $id: PAYLOAD_FILTER_SCHEMA_IDS.innermost,
  description: 'A filter inside an inner and/or: a condition, or not of one.',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { not: { $ref: PAYLOAD_FILTER_SCHEMA_IDS.condition, description: 'The condition does not hold.' }, ...conditionProperties },
  if: { required: ['not'], properties: { not: true } },
  then: { maxProperties: 1 },
  else: conditionRule,
} as const;

/**
 * A level where and/or take up to `items` filters of the next level (`next`): a condition, and/or, and — when
 * `negated` names the same level without it — not. `and`, `or` and `not` stand alone (maxProperties 1);
 * anything else is a condition.
 */
function level<Id extends string, Next extends string, Negated extends string | undefined>(id: Id, next: Next, items: number, negated: Negated, description: string) {
  const list = { type: 'array', minItems: 1, maxItems: items, items: { $ref: next } } as const;
  const combinators = { and: { ...list, description: 'Every filter holds.' }, or: { ...list, description: 'At least one filter holds.' } } as const;
  const not = negated === undefined ? {} : ({ not: { $ref: negated, description: 'The filter does not hold.' } } as const);
  const standsAlone = (key: string) => ({ if: { required: [key], properties: { [key]: true } }, then: { maxProperties: 1 } });
  return {
    $id: id,
    description,
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { ...combinators, ...not, ...conditionProperties },
    ...standsAlone('and'),
    else: { ...standsAlone('or'), else: negated === undefined ? conditionRule : { ...standsAlone('not'), else: conditionRule } },
  } as const;
}

export const payloadFilterNestedNegatedSchema = level(
  PAYLOAD_FILTER_SCHEMA_IDS.nestedNegated,
  PAYLOAD_FILTER_SCHEMA_IDS.innermost,
  payloadFilterLimits.innerItems,
  undefined,
  'What a not inside the outermost and/or wraps: a condition, or and/or of up to 8 filters.',
);

export const payloadFilterNestedSchema = level(
  PAYLOAD_FILTER_SCHEMA_IDS.nested,
  PAYLOAD_FILTER_SCHEMA_IDS.innermost,
  payloadFilterLimits.innerItems,
  PAYLOAD_FILTER_SCHEMA_IDS.nestedNegated,
  'A filter inside the outermost and/or: a condition, and/or of up to 8 filters, or not of one.',
);

export const payloadFilterNegatedSchema = level(
  PAYLOAD_FILTER_SCHEMA_IDS.outerNegated,
  PAYLOAD_FILTER_SCHEMA_IDS.nested,
  payloadFilterLimits.outerItems,
  undefined,
  'What an outermost not wraps: a condition, or and/or of up to 16 filters.',
);

/** An endpoint's payload filter; null: none (every payload). */
export const payloadFilterSchema = {
  ...level(PAYLOAD_FILTER_SCHEMA_IDS.outer, PAYLOAD_FILTER_SCHEMA_IDS.nested, payloadFilterLimits.outerItems, PAYLOAD_FILTER_SCHEMA_IDS.outerNegated, ''),
  type: ['object', 'null'],
  description:
    'Which messages the endpoint takes by their payload (Hookpost extension; null: every one). A condition {"path": "$.data.amount", "gte": 100}, or {"and": [...]}, {"or": [...]}, {"not": {...}} of filters. See docs/svix-api.md, "Payload filters".',
} as const;

/** Every level, each after those it references, for ajv and the OpenAPI document. */
export const payloadFilterSchemas = [
  payloadFilterConditionSchema,
  payloadFilterInnermostSchema,
  payloadFilterNestedNegatedSchema,
  payloadFilterNestedSchema,
  payloadFilterNegatedSchema,
  payloadFilterSchema,
] as const;

for (const schema of payloadFilterSchemas) ajv.addSchema(schema);

/** Checks a filter (or null) against the schema: what the gateway takes, and what the evaluator compiles. */
export const validatePayloadFilter = compile({ $ref: PAYLOAD_FILTER_SCHEMA_IDS.outer });

export type PayloadFilterScalar = string | number | boolean | null;
export type PayloadFilterCondition = { path: string } & (
  | { eq: PayloadFilterScalar }
  | { in: PayloadFilterScalar[] }
  | { lt: number | string }
  | { lte: number | string }
  | { gt: number | string }
  | { gte: number | string }
  | { exists: boolean }
);
/** The filter's type (recursive here; the schema bounds the depth). */
export type PayloadFilter = PayloadFilterCondition | { and: PayloadFilter[] } | { or: PayloadFilter[] } | { not: PayloadFilter };
