import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FieldError } from '../validation';

/**
 * Event types may carry a JSON Schema (draft-07) of their payload per version; a message whose payload does
 * not match the highest version's is refused with 422 naming the failing paths. Schemas are the sender's,
 * compiled to code on the request path of every message, so their cost is bounded:
 * - a schema is compiled once per process and kept by the hash of its text (an LRU of `cacheEntries`), and
 *   by the schema object itself while that lives (so callers should not mutate a schema once checked with);
 * - at most `schemaBytes` of schema text, and no `$ref` outside the schema itself (nothing is fetched),
 *   no `$async`, no `$data`;
 * - patterns (`pattern`, `patternProperties`) that repeat a group which itself repeats or alternates — the
 *   shape of catastrophic backtracking, `(a+)+`, `(a|a)*` — and backreferences are refused at creation
 *   (regexProblem). The test is conservative: a safe pattern of that shape, such as `^[a-z]+(-[a-z]+)*$`, is
 *   refused too; write it without the repeated group (`^[a-z][a-z-]*$`) or leave that check to the consumer;
 * - a string longer than `patternTextLength` does not match any pattern, so even a pattern the test misses
 *   (adjacent repetitions like `\d+\d+x`) runs on bounded text;
 * - `uniqueItems` needs scalar `items` types, where ajv checks in linear time (otherwise it compares every
 *   pair);
 * - formats use ajv-formats' fast mode, whose patterns are simple.
 * Unknown keywords and formats are ignored (strict: false), as JSON Schema says of unknown keywords.
 */

export const payloadSchemaLimits = {
  schemaBytes: 64 * 1024,
  cacheEntries: 500,
  patternTextLength: 4096,
  reportedErrors: 20,
} as const;

/** Refuses (false) every text over the length limit, so no pattern runs on more than it. */
const boundedRegExp = Object.assign(
  (pattern: string, flags: string) => {
    const regExp = new RegExp(pattern, flags);
    return { test: (text: string) => text.length <= payloadSchemaLimits.patternTextLength && regExp.test(text), toString: () => regExp.toString() };
  },
  { code: 'boundedRegExp' },
);

const payloadAjv = new Ajv({
  allErrors: true,
  strict: false,
  logger: false,
  addUsedSchema: false,
  allowUnionTypes: true,
  code: { regExp: boundedRegExp },
});
addFormats(payloadAjv, { mode: 'fast' });

type Compiled = Readonly<{ ok: true; validate: ValidateFunction } | { ok: false; problem: string }>;
const compiledByHash = new Map<string, Compiled>();
// The same schema object (an event type held in a cache) is found without serializing and hashing it again.
const compiledBySchema = new WeakMap<object, Compiled>();

function compiled(schema: unknown): Compiled {
  const known = typeof schema === 'object' && schema !== null ? compiledBySchema.get(schema) : undefined;
  if (known) return known;
  const result = compiledByText(schema);
  if (typeof schema === 'object' && schema !== null) compiledBySchema.set(schema, result);
  return result;
}

function compiledByText(schema: unknown): Compiled {
  const text = JSON.stringify(schema) ?? 'undefined';
  const key = createHash('sha256').update(text).digest('base64');
  const cached = compiledByHash.get(key);
  if (cached) {
    // Least recently used goes first: re-insert to mark as used.
    compiledByHash.delete(key);
    compiledByHash.set(key, cached);
    return cached;
  }
  const result = compile(schema, text);
  compiledByHash.set(key, result);
  if (compiledByHash.size > payloadSchemaLimits.cacheEntries) compiledByHash.delete(compiledByHash.keys().next().value!);
  return result;
}

function compile(schema: unknown, text: string): Compiled {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return { ok: false, problem: 'must be a JSON Schema object' };
  if (Buffer.byteLength(text) > payloadSchemaLimits.schemaBytes) return { ok: false, problem: `must be at most ${payloadSchemaLimits.schemaBytes} bytes of JSON` };
  const unsafe = unsafePart(schema, '');
  if (unsafe) return { ok: false, problem: unsafe };
  try {
    return { ok: true, validate: payloadAjv.compile(schema) };
  } catch (error) {
    return { ok: false, problem: `is not a schema ajv can compile: ${(error as Error).message}` };
  }
}

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** The first part of the schema that could make compiling or checking unbounded, with where it is. */
function unsafePart(node: unknown, at: string): string | undefined {
  if (Array.isArray(node)) {
    for (const [index, child] of node.entries()) {
      const problem = unsafePart(child, `${at}/${index}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const schema = node as Record<string, unknown>;
  if (typeof schema.$ref === 'string' && !schema.$ref.startsWith('#')) return `${at}/$ref: only references within the schema (#...) are followed`;
  if ('$async' in schema) return `${at}/$async: asynchronous schemas are not supported`;
  if ('$data' in schema) return `${at}/$data: $data references are not supported`;
  if (typeof schema.pattern === 'string') {
    const problem = regexProblem(schema.pattern);
    if (problem) return `${at}/pattern ${problem}`;
  }
  if (typeof schema.patternProperties === 'object' && schema.patternProperties !== null) {
    for (const pattern of Object.keys(schema.patternProperties)) {
      const problem = regexProblem(pattern);
      if (problem) return `${at}/patternProperties ${JSON.stringify(pattern)} ${problem}`;
    }
  }
  if (schema.uniqueItems === true && !hasScalarItems(schema.items)) {
    return `${at}/uniqueItems: needs items of scalar types (string, number, integer, boolean, null), which are compared in linear time`;
  }
  for (const [key, child] of Object.entries(schema)) {
    // Values of these keywords are data, not schemas: they may hold anything.
    if (key === 'enum' || key === 'const' || key === 'examples' || key === 'default' || key === 'example') continue;
    const problem = unsafePart(child, `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    if (problem) return problem;
  }
  return undefined;
}

function hasScalarItems(items: unknown): boolean {
  if (typeof items !== 'object' || items === null || Array.isArray(items)) return false;
  const type = (items as { type?: unknown }).type;
  const types = Array.isArray(type) ? type : [type];
  return types.length > 0 && types.every((t) => typeof t === 'string' && SCALAR_TYPES.has(t));
}

type Quantifier = { max: number; length: number };

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` at `at` (with a lazy `?` after it), or undefined. */
function quantifierAt(source: string, at: number): Quantifier | undefined {
  const char = source[at];
  let max: number;
  let length: number;
  if (char === '*' || char === '+') [max, length] = [Infinity, 1];
  else if (char === '?') [max, length] = [1, 1];
  else {
    const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
    if (!braces) return undefined;
    const min = Number(braces[1]);
    max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
    length = braces[0].length;
  }
  if (source[at + length] === '?') length++;
  return { max, length };
}

type Group = { innerMax: number; alternates: boolean };

/**
 * Why a pattern may backtrack catastrophically, or undefined: a backreference, or a group repeated without
 * bound whose body repeats (more than once) or alternates, or a group repeated more than once whose body
 * repeats without bound. Also refuses what does not compile with the u flag (ajv's).
 */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
  } catch {
    return 'is not a valid regular expression (with the u flag)';
  }
  const stack: Group[] = [{ innerMax: 0, alternates: false }];
  let lastGroup: Group | undefined; // the group just closed, if the last atom is one
  let at = 0;
  while (at < source.length) {
    const char = source[at]!;
    const top = stack[stack.length - 1]!;
    if (char === '\\') {
      const next = source[at + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'uses a backreference';
      // \p{..}, \u{..}: the braces belong to the escape, not to a quantifier.
      const braced = /^\\[pPu]\{[^}]*\}/.exec(source.slice(at));
      at += braced ? braced[0].length : 2;
      lastGroup = undefined;
    } else if (char === '[') {
      at++;
      while (at < source.length && source[at] !== ']') at += source[at] === '\\' ? 2 : 1;
      at++;
      lastGroup = undefined;
    } else if (char === '(') {
      stack.push({ innerMax: 0, alternates: false });
      const prefix = /^\((\?(<[A-Za-z_$][\w$]*>|:|=|!|<=|<!))?/.exec(source.slice(at))!;
      at += prefix[0].length;
      lastGroup = undefined;
    } else if (char === ')') {
      const group = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      parent.innerMax = Math.max(parent.innerMax, group.innerMax);
      parent.alternates ||= group.alternates;
      lastGroup = group;
      at++;
    } else if (char === '|') {
      top.alternates = true;
      lastGroup = undefined;
      at++;
    } else {
      const quantifier = quantifierAt(source, at);
      if (!quantifier) {
        lastGroup = undefined;
        at++;
        continue;
      }
      if (lastGroup) {
        if (quantifier.max === Infinity && (lastGroup.innerMax > 1 || lastGroup.alternates)) return 'repeats a group that repeats or alternates (catastrophic backtracking)';
        if (quantifier.max > 1 && lastGroup.innerMax === Infinity) return 'repeats a group that repeats without bound (catastrophic backtracking)';
      }
      top.innerMax = Math.max(top.innerMax, quantifier.max);
      lastGroup = undefined;
      at += quantifier.length;
    }
  }
  return undefined;
}

/** Why this event-type payload schema is refused (at creation: 422 on `schemas.<version>`), or undefined. */
export function schemaProblem(schema: unknown): string | undefined {
  const result = compiled(schema);
  return result.ok ? undefined : result.problem;
}

/** schemaProblem for every version of an event type's `schemas`, as FieldErrors of the body. */
export function payloadSchemasProblems(schemas: Readonly<Record<string, unknown>> | null | undefined): FieldError[] {
  return Object.entries(schemas ?? {}).flatMap(([version, schema]) => {
    const problem = schemaProblem(schema);
    return problem ? [{ field: `/schemas/${version}`, message: problem }] : [];
  });
}

/** The schema messages are checked against: the highest version's. */
export function currentPayloadSchema(schemas: Readonly<Record<string, unknown>> | null | undefined): unknown {
  const versions = Object.keys(schemas ?? {}).filter((version) => /^[1-9][0-9]*$/.test(version));
  if (versions.length === 0) return undefined;
  const highest = versions.reduce((a, b) => (Number(b) > Number(a) ? b : a));
  return schemas![highest];
}

/** A failing place in the payload: a JSON Pointer into it (`""` is the payload itself) and what is wrong there. */
export type PayloadError = Readonly<{ path: string; message: string }>;
export type PayloadCheck = Readonly<{ ok: true } | { ok: false; errors: PayloadError[] }>;

/**
 * Checks a payload against an event type's schema. A schema that does not compile is a programming error by
 * now (schemaProblem refused it at creation), so it throws. At most `reportedErrors` errors are listed.
 */
export function checkPayload(schema: unknown, payload: unknown): PayloadCheck {
  const result = compiled(schema);
  if (!result.ok) throw new Error(`payload schema does not compile: ${result.problem}`);
  if (result.validate(payload)) return { ok: true };
  const errors = (result.validate.errors ?? [])
    .filter((error) => error.keyword !== 'if')
    .slice(0, payloadSchemaLimits.reportedErrors)
    .map((error) => {
      let path = error.instancePath;
      if (error.keyword === 'required') path += `/${escapePointer(String(error.params.missingProperty))}`;
      if (error.keyword === 'additionalProperties') path += `/${escapePointer(String(error.params.additionalProperty))}`;
      return { path, message: error.message ?? 'is invalid' };
    });
  return { ok: false, errors };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Payload errors as FieldErrors of the message body (`/payload/...`), for ValidationFailed and svixErrorBody. */
export function payloadErrorFields(errors: readonly PayloadError[]): FieldError[] {
  return errors.map((error) => ({ field: `/payload${error.path}`, message: error.message }));
}
