import { payloadFilterLimits, validatePayloadFilter, type PayloadFilter, type PayloadFilterOperator, type PayloadFilterScalar } from './payloadFilterSchema';

/**
 * The payload filter's evaluator (the language and its limits are in payloadFilterSchema.ts). A filter is
 * compiled once into closures — paths parsed, `in` lists made sets — and then run on each message's payload;
 * nothing is ever evaluated as code.
 *
 * What a filter means:
 * - A path selects values of the payload: none (nothing there), one, or — through its `[*]` — any number.
 *   Only the payload's own members are read (a name such as `__proto__` or `constructor` is a member name
 *   like any other). `.name` / `["name"]` read an object's member, `[n]` an array's element, `[*]` every
 *   element of an array or every member value of an object; anything else selects nothing.
 * - A condition holds when SOME selected value satisfies its operator, so with `[*]` it means "any element":
 *   `{"path": "$.tags[*]", "eq": "vip"}` holds when one of the tags is "vip"; `not` of it, when none is.
 * - `eq` and `in` compare a value with strings, numbers, booleans and null by type and value (no conversion:
 *   "1" is not 1; an object or array equals nothing). `lt`/`lte`/`gt`/`gte` compare a number with a number and
 *   a string with a string, character by character (UTF-16 code units, the order of JavaScript's `<`, so ISO
 *   8601 times written alike compare in time order); a value of another type does not satisfy them.
 * - `exists: true` holds when the path selects something (null counts); `exists: false` when it selects
 *   nothing.
 * - `and` holds when every filter does, `or` when one does, `not` when its filter does not.
 * - One evaluation reads at most PAYLOAD_FILTER_READ_BUDGET array elements and member values through `[*]`
 *   (all conditions together); a payload that would take more does not pass, with that as the reason. With
 *   the schema's 128 conditions this bounds a filter's cost whatever the payload's size.
 */

export class PayloadFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadFilterError';
  }
}

type Segment = { kind: 'member'; name: string } | { kind: 'index'; index: number } | { kind: 'every' };

const SEGMENTS = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(0|[1-9][0-9]{0,8})\]|\["([^"\\\u0000]*)"\]|(\[\*\])/y;

/** A path's parts; throws PayloadFilterError when it is not one the schema takes. */
export function parsePayloadPath(path: string): Segment[] {
  if (!path.startsWith('$') || path.length > payloadFilterLimits.pathLength) throw new PayloadFilterError(`${JSON.stringify(path)} is not a JSON path the filter reads`);
  const segments: Segment[] = [];
  SEGMENTS.lastIndex = 1;
  while (SEGMENTS.lastIndex < path.length) {
    const at = SEGMENTS.lastIndex;
    const match = SEGMENTS.exec(path);
    if (!match) throw new PayloadFilterError(`${JSON.stringify(path)} is not a JSON path the filter reads (at character ${at})`);
    if (match[1] !== undefined) segments.push({ kind: 'member', name: match[1] });
    else if (match[2] !== undefined) segments.push({ kind: 'index', index: Number(match[2]) });
    else if (match[3] !== undefined) segments.push({ kind: 'member', name: match[3] });
    else segments.push({ kind: 'every' });
  }
  if (segments.filter((segment) => segment.kind === 'every').length > 1) throw new PayloadFilterError(`${JSON.stringify(path)} has more than one [*]`);
  return segments;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Nothing at the path. */
const MISSING = Symbol('missing');

/** The one value a path without `[*]` selects, or MISSING. */
function selectOne(value: unknown, segments: readonly Segment[]): unknown {
  let current = value;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    switch (segment.kind) {
      case 'member':
        if (!isObject(current) || !Object.hasOwn(current, segment.name)) return MISSING;
        current = current[segment.name];
        break;
      case 'index':
        if (!Array.isArray(current) || segment.index >= current.length) return MISSING;
        current = current[segment.index];
        break;
      case 'every':
        throw new Error('selectOne takes the parts of a path around its [*]');
      default: {
        const unknown: never = segment;
        throw new Error(`unknown path segment ${JSON.stringify(unknown)}`);
      }
    }
  }
  return current;
}

/**
 * How many array elements and member values the `[*]`s of one evaluation may read, all conditions together:
 * the cost of a filter is bounded by its conditions (128) and this, whatever the payload's size.
 */
export const PAYLOAD_FILTER_READ_BUDGET = 100_000;

class ReadBudgetSpent extends Error {}

/** What one evaluation may still read. */
type Budget = { left: number };

/** A path, split around its `[*]` (if any): `some` answers whether a selected value satisfies `test`. */
type CompiledPath = Readonly<{
  some: (payload: unknown, budget: Budget, test: (value: unknown) => boolean) => boolean;
  /** Every value selected (for explaining a failure only). */
  all: (payload: unknown, budget: Budget) => unknown[];
}>;

function compilePath(path: string): CompiledPath {
  const segments = parsePayloadPath(path);
  const wildcard = segments.findIndex((segment) => segment.kind === 'every');
  if (wildcard < 0) {
    return {
      some: (payload, _budget, test) => {
        const value = selectOne(payload, segments);
        return value !== MISSING && test(value);
      },
      all: (payload) => {
        const value = selectOne(payload, segments);
        return value === MISSING ? [] : [value];
      },
    };
  }
  const prefix = segments.slice(0, wildcard);
  const rest = segments.slice(wildcard + 1);
  const children = (payload: unknown, budget: Budget): readonly unknown[] => {
    const parent = selectOne(payload, prefix);
    const found = Array.isArray(parent) ? parent : isObject(parent) ? Object.values(parent) : [];
    budget.left -= found.length;
    if (budget.left < 0) throw new ReadBudgetSpent();
    return found;
  };
  return {
    some: (payload, budget, test) => {
      for (const child of children(payload, budget)) {
        const value = rest.length === 0 ? child : selectOne(child, rest);
        if (value !== MISSING && test(value)) return true;
      }
      return false;
    },
    all: (payload, budget) => children(payload, budget).map((child) => (rest.length === 0 ? child : selectOne(child, rest))).filter((value) => value !== MISSING),
  };
}

/** A compiled filter: `matches` runs on every message; `whyNot` only for one that does not match. */
export type CompiledPayloadFilter = Readonly<{
  matches: (payload: unknown) => boolean;
  /** Why the payload does not match (without its values: paths, operators and the types found). */
  whyNot: (payload: unknown) => string;
}>;

type Node = Readonly<{ text: string; matches: (payload: unknown, budget: Budget) => boolean; whyNot: (payload: unknown, budget: Budget) => string }>;

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const withArticle = (name: string) => `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;

function operandText(operand: unknown): string {
  const text = JSON.stringify(operand);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

function truncate(text: string): string {
  return text.length > payloadFilterLimits.detailLength ? `${text.slice(0, payloadFilterLimits.detailLength - 1)}…` : text;
}

/** What a value must satisfy, per operator (exists is answered from whether the path selects anything). */
const tests = {
  eq: (operand: PayloadFilterScalar) => (value: unknown) => value === operand,
  in: (operand: PayloadFilterScalar[]) => {
    const values = new Set<unknown>(operand);
    return (value: unknown) => values.has(value);
  },
  lt: (operand: number | string) => (value: unknown) => typeof value === typeof operand && (value as number | string) < operand,
  lte: (operand: number | string) => (value: unknown) => typeof value === typeof operand && (value as number | string) <= operand,
  gt: (operand: number | string) => (value: unknown) => typeof value === typeof operand && (value as number | string) > operand,
  gte: (operand: number | string) => (value: unknown) => typeof value === typeof operand && (value as number | string) >= operand,
} as const;

const SCALAR_TYPES = ['string', 'number', 'boolean', 'null'];
const anything = () => true;

function condition(filter: Record<string, unknown>): Node {
  const path = filter.path as string;
  const selected = compilePath(path);
  const operator = Object.keys(filter).find((key) => key !== 'path') as PayloadFilterOperator;
  const operand = filter[operator];
  const text = `${path} ${operator} ${operandText(operand)}`;
  if (operator === 'exists') {
    return { text, matches: (payload, budget) => selected.some(payload, budget, anything) === operand, whyNot: () => (operand ? `${path} does not exist` : `${path} exists`) };
  }
  const satisfies: (value: unknown) => boolean = tests[operator](operand as never);
  const types = operator === 'eq' || operator === 'in' ? SCALAR_TYPES : [typeof operand];
  return {
    text,
    matches: (payload, budget) => selected.some(payload, budget, satisfies),
    whyNot: (payload, budget) => {
      const found = selected.all(payload, budget);
      if (found.length === 0) return `${text}: nothing at ${path}`;
      if (found.length > 1) return `${text}: false for each of ${found.length} values`;
      const kind = typeName(found[0]);
      return types.includes(kind) ? `${text}: false` : `${text}: the value is ${withArticle(kind)}`;
    },
  };
}

function node(filter: PayloadFilter): Node {
  if ('and' in filter) {
    const children = filter.and.map(node);
    return {
      text: 'and',
      matches: (payload, budget) => children.every((child) => child.matches(payload, budget)),
      whyNot: (payload, budget) => {
        const index = children.findIndex((child) => !child.matches(payload, budget));
        return `and[${index}]: ${children[index]!.whyNot(payload, budget)}`;
      },
    };
  }
  if ('or' in filter) {
    const children = filter.or.map(node);
    return {
      text: 'or',
      matches: (payload, budget) => children.some((child) => child.matches(payload, budget)),
      whyNot: (payload, budget) =>
        children.length === 1 ? `or[0]: ${children[0]!.whyNot(payload, budget)}` : `none of or[0..${children.length - 1}] holds (or[0]: ${children[0]!.whyNot(payload, budget)})`,
    };
  }
  if ('not' in filter) {
    const child = node(filter.not);
    const inner = child.text === 'and' || child.text === 'or' ? `its ${child.text}` : child.text;
    return { text: 'not', matches: (payload, budget) => !child.matches(payload, budget), whyNot: () => `not: ${inner} holds` };
  }
  return condition(filter);
}

/**
 * Compiles a filter (as stored on an endpoint) for evaluation; throws PayloadFilterError if it is not one the
 * schema takes (the gateway refuses those, so one in the log means a writer that did not check).
 */
export function compilePayloadFilter(filter: unknown): CompiledPayloadFilter {
  const checked = validatePayloadFilter(filter);
  if (!checked.ok) throw new PayloadFilterError(`not a payload filter: ${checked.errors.slice(0, 3).join('; ')}`);
  if (filter === null) throw new PayloadFilterError('no payload filter to compile');
  const root = node(filter as PayloadFilter);
  const spent = `the filter reads more than ${PAYLOAD_FILTER_READ_BUDGET} values of this payload`;
  return {
    // A filter that would read more than the budget of one payload lets it through no more than one that fails.
    matches: (payload) => {
      try {
        return root.matches(payload, { left: PAYLOAD_FILTER_READ_BUDGET });
      } catch (error) {
        if (error instanceof ReadBudgetSpent) return false;
        throw error;
      }
    },
    whyNot: (payload) => {
      try {
        root.matches(payload, { left: PAYLOAD_FILTER_READ_BUDGET });
      } catch (error) {
        if (error instanceof ReadBudgetSpent) return spent;
        throw error;
      }
      // (explaining reads at most twice what matching read: the failing branch again, and its values)
      return truncate(root.whyNot(payload, { left: Number.POSITIVE_INFINITY }));
    },
  };
}

/** Whether (and why not) a payload passes an endpoint's filter; undefined filter: every payload passes. */
export type PayloadFilterVerdict = { passes: true } | { passes: false; detail: string };

/**
 * Compiled filters by endpoint version: an endpoint's filter is compiled once per version (its state never
 * changes without a new version), not once per message. A bounded LRU, so endpoints that come and go do not
 * grow it. A filter that cannot be compiled is kept as such: nothing passes it, and the detail says why.
 */
export class PayloadFilters {
  private readonly compiled = new Map<string, CompiledPayloadFilter | PayloadFilterError>();

  constructor(private readonly maxEntries = 10_000) {}

  verdict(endpoint: { id: string; version: number; payload_filter?: unknown }, payload: unknown): PayloadFilterVerdict {
    if (endpoint.payload_filter === undefined || endpoint.payload_filter === null) return { passes: true };
    const filter = this.of(endpoint);
    if (filter instanceof PayloadFilterError) return { passes: false, detail: truncate(`the filter cannot be used: ${filter.message}`) };
    return filter.matches(payload) ? { passes: true } : { passes: false, detail: filter.whyNot(payload) };
  }

  private of(endpoint: { id: string; version: number; payload_filter?: unknown }): CompiledPayloadFilter | PayloadFilterError {
    const key = `${endpoint.id}@${endpoint.version}`;
    const known = this.compiled.get(key);
    if (known) {
      // (most recently used last: the first key is the one to drop)
      this.compiled.delete(key);
      this.compiled.set(key, known);
      return known;
    }
    let compiled: CompiledPayloadFilter | PayloadFilterError;
    try {
      compiled = compilePayloadFilter(endpoint.payload_filter);
    } catch (error) {
      if (!(error instanceof PayloadFilterError)) throw error;
      compiled = error;
    }
    this.compiled.set(key, compiled);
    if (this.compiled.size > this.maxEntries) this.compiled.delete(this.compiled.keys().next().value!);
    return compiled;
  }
}
