import type { ValidateFunction } from 'ajv';
import { ajv, describeErrors, type FieldError } from '../validation';
import { positionOfExternalId, UID_MAX_LENGTH, UID_PATTERN, type SvixIdPrefix } from './ids';
import { svixTaskStatuses } from '../backgroundTask';
import { messageStatusSchema as status } from './responses';
import { CHANNEL_PATTERN, EVENT_TYPE_NAME_PATTERN, svixLimits, TAG_PATTERN } from './schemas';

/**
 * The query parameters of the Svix v1 API, per operation, in one place: the parser below reads requests with
 * them and the OpenAPI document (svix/openapi.ts) states them. Values are checked strictly — a value outside
 * its schema is a 422 naming `["query", name]`, as Svix answers — while parameters an operation does not take
 * are ignored, as Svix's server ignores them (clients of other versions send their own).
 *
 * Lists are Svix's: `limit` (1..250, default 50), `iterator` and, on some, `order`. An iterator is the id of
 * the last item of a page (`iterator`), or `-` and the id of the first (`prevIterator`, to page back), as
 * Svix's are; pages are keyset pages over the id (keysetOf), which is creation order when ids are
 * time-ordered UUIDs (ids.ts newTimeOrderedUuid). Any iterator of the right shape names a position (its id's
 * check is not verified, the row need not exist), so only malformed ones are refused — as the seed API's
 * cursors. Event types page by name, forward only.
 */

export const SVIX_DEFAULT_LIMIT = 50;
export const SVIX_MAX_LIMIT = 250;

export const listOrders = ['ascending', 'descending'] as const;
export type ListOrder = (typeof listOrders)[number];

const limit = { type: 'integer', minimum: 1, maximum: SVIX_MAX_LIMIT, default: SVIX_DEFAULT_LIMIT } as const;
const order = { enum: listOrders } as const;
const flag = <Default extends boolean>(value: Default) => ({ type: 'boolean', default: value }) as const;
const idIterator = <Prefix extends SvixIdPrefix>(prefix: Prefix) =>
  ({
    type: 'string',
    pattern: `^-?${prefix}_[A-Za-z0-9]{27}$`,
    description: `The iterator (or prevIterator) of an earlier page, unchanged.`,
  }) as const;
const eventTypeIterator = {
  type: 'string',
  maxLength: svixLimits.eventTypeNameLength,
  pattern: EVENT_TYPE_NAME_PATTERN,
  description: 'The iterator of an earlier page, unchanged (the name of its last event type).',
} as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const channel = { type: 'string', minLength: 1, maxLength: svixLimits.channelLength, pattern: CHANNEL_PATTERN } as const;
const tag = { type: 'string', minLength: 1, maxLength: svixLimits.tagLength, pattern: TAG_PATTERN } as const;
const eventTypes = {
  type: 'array',
  maxItems: 100,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: svixLimits.eventTypeNameLength, pattern: EVENT_TYPE_NAME_PATTERN },
  description: 'Repeat the parameter, or separate names with commas (what the Svix clients send).',
} as const;
const statusCodeClass = { enum: [0, 100, 200, 300, 400, 500], description: 'Attempts whose response status is in this hundred (0: no response).' } as const;
const idOrUid = { type: 'string', minLength: 1, maxLength: UID_MAX_LENGTH, pattern: UID_PATTERN } as const;
const before = { ...dateTime, description: 'Only items created before this time.' } as const;
const after = { ...dateTime, description: 'Only items created after this time.' } as const;

export const svixQueryParameters = {
  'v1.application.list': {
    limit,
    iterator: idIterator('app'),
    order,
    exclude_apps_with_no_endpoints: flag(false),
    exclude_apps_with_disabled_endpoints: flag(false),
    exclude_apps_with_svix_play_endpoints: flag(false),
  },
  'v1.application.create': { get_if_exists: { ...flag(false), description: 'Answer the application with this uid (200) if it exists, instead of 409.' } },
  'v1.endpoint.list': { limit, iterator: idIterator('ep'), order },
  'v1.endpoint.get-stats': { since: dateTime, until: dateTime },
  'v1.event-type.list': { limit, iterator: eventTypeIterator, order, include_archived: flag(false), with_content: flag(false) },
  'v1.event-type.delete': { expunge: flag(false) },
  'v1.message.list': { limit, iterator: idIterator('msg'), channel, before, after, with_content: flag(true), tag, event_types: eventTypes },
  'v1.message.create': { with_content: flag(true) },
  'v1.message.get': { with_content: flag(true) },
  'v1.message-attempt.list-by-endpoint': {
    limit,
    iterator: idIterator('atmpt'),
    status,
    status_code_class: statusCodeClass,
    channel,
    tag,
    before,
    after,
    with_content: flag(true),
    with_msg: flag(false),
    expanded_statuses: flag(false),
    event_types: eventTypes,
  },
  'v1.message-attempt.list-by-msg': {
    limit,
    iterator: idIterator('atmpt'),
    status,
    status_code_class: statusCodeClass,
    channel,
    tag,
    endpoint_id: { ...idOrUid, description: 'Only attempts to this endpoint (id or uid).' },
    before,
    after,
    with_content: flag(true),
    expanded_statuses: flag(false),
    event_types: eventTypes,
  },
  'v1.message-attempt.list-attempted-messages': {
    limit,
    iterator: idIterator('msg'),
    channel,
    tag,
    status,
    before,
    after,
    with_content: flag(true),
    expanded_statuses: flag(false),
    event_types: eventTypes,
  },
  'v1.message-attempt.list-attempted-destinations': { limit, iterator: idIterator('ep') },
  'hookpost.message.list-filtered-endpoints': { limit, iterator: idIterator('ep') },
  'v1.message-attempt.get': { expanded_statuses: flag(false) },
  'v1.operational-webhook.endpoint.list': { limit, iterator: idIterator('ep'), order },
  'v1.background-task.list': {
    limit,
    iterator: idIterator('qtask'),
    order: { ...order, description: 'Newest first (descending) unless ascending.' },
    status: { enum: svixTaskStatuses, description: 'Only tasks of this status (failed includes cancelled tasks).' },
    task: { enum: ['endpoint.recover', 'endpoint.replay', 'endpoint.bulk-replay'], description: 'Only tasks of this type.' },
  },
} as const;

export type SvixQueryOperation = keyof typeof svixQueryParameters;
// The parameter schemas are flat, so their types are written out here (FromSchema over a generic operation
// is too deep for the compiler).
type ValueOf<Schema> = Schema extends { enum: readonly (infer Value)[] }
  ? Value
  : Schema extends { type: 'integer' }
    ? number
    : Schema extends { type: 'boolean' }
      ? boolean
      : Schema extends { type: 'array' }
        ? string[]
        : string;
type Defaulted<Params> = { [Name in keyof Params as Params[Name] extends { default: unknown } ? Name : never]: ValueOf<Params[Name]> };
type Optional<Params> = { [Name in keyof Params as Params[Name] extends { default: unknown } ? never : Name]?: ValueOf<Params[Name]> };
/** The parsed query of an operation; parameters with a default are always present. */
export type SvixQuery<Op extends SvixQueryOperation> = Defaulted<(typeof svixQueryParameters)[Op]> & Optional<(typeof svixQueryParameters)[Op]>;

/** Which kind of key an operation's iterator names: an id with this prefix, or an event type's name. */
const iteratorKeys: Partial<Record<SvixQueryOperation, SvixIdPrefix | 'name'>> = {
  'v1.application.list': 'app',
  'v1.endpoint.list': 'ep',
  'v1.event-type.list': 'name',
  'v1.message.list': 'msg',
  'v1.message-attempt.list-by-endpoint': 'atmpt',
  'v1.message-attempt.list-by-msg': 'atmpt',
  'v1.message-attempt.list-attempted-messages': 'msg',
  'v1.message-attempt.list-attempted-destinations': 'ep',
  'hookpost.message.list-filtered-endpoints': 'ep',
  'v1.operational-webhook.endpoint.list': 'ep',
  'v1.background-task.list': 'qtask',
};

/**
 * Where a page starts: past `key` (a UUID, or an event type's name) in the list's order ('after', from an
 * iterator) or before it ('before', from a prevIterator). `text` is the iterator as given.
 */
export type ListIterator = Readonly<{ direction: 'after' | 'before'; key: string; text: string }>;

export type ParsedSvixQuery<Op extends SvixQueryOperation> = Omit<SvixQuery<Op>, 'iterator'> & { iterator?: ListIterator };
export type SvixQueryResult<Op extends SvixQueryOperation> = { ok: true; query: ParsedSvixQuery<Op> } | { ok: false; errors: FieldError[] };

const validators = new Map<SvixQueryOperation, ValidateFunction>();
function validatorOf(operation: SvixQueryOperation): ValidateFunction {
  let validate = validators.get(operation);
  if (!validate) {
    validate = ajv.compile({ type: 'object', properties: svixQueryParameters[operation] });
    validators.set(operation, validate);
  }
  return validate;
}

type ParamSchema = { type?: string; default?: unknown };

/** A query string value as its schema's type: "true"/"false", integers, comma lists; anything else stays text for ajv to refuse. */
function coerce(schema: ParamSchema, values: readonly string[]): { value: unknown } | { error: string } {
  if (schema.type === 'array') return { value: values.flatMap((value) => value.split(',')) };
  if (values.length !== 1) return { error: 'must be given once' };
  const value = values[0]!;
  if (schema.type === 'boolean') return { value: value === 'true' ? true : value === 'false' ? false : value };
  if (schema.type === 'integer' || (schema.type === undefined && /^-?[0-9]+$/.test(value))) return { value: /^-?[0-9]{1,15}$/.test(value) ? Number(value) : value };
  return { value };
}

/**
 * Reads an operation's query parameters from Express's query object (the `simple` parser: a string, or an
 * array for a repeated name), with defaults filled in and the iterator decoded. Errors name `query.<name>`.
 */
export function parseSvixQuery<Op extends SvixQueryOperation>(operation: Op, raw: Readonly<Record<string, unknown>>): SvixQueryResult<Op> {
  const parameters = svixQueryParameters[operation] as Readonly<Record<string, ParamSchema>>;
  const query: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, schema] of Object.entries(parameters)) {
    const given = raw[name];
    if (given === undefined) {
      if (schema.default !== undefined) query[name] = schema.default;
      continue;
    }
    const values = Array.isArray(given) ? given : [given];
    if (!values.every((value): value is string => typeof value === 'string')) {
      errors.push({ field: `query.${name}`, message: 'must be text' });
      continue;
    }
    const coerced = coerce(schema, values);
    if ('error' in coerced) errors.push({ field: `query.${name}`, message: coerced.error });
    else query[name] = coerced.value;
  }
  const validate = validatorOf(operation);
  if (!validate(query)) errors.push(...describeErrors(validate.errors).map((error) => ({ ...error, field: `query.${error.field}` })));
  if (errors.length > 0) return { ok: false, errors };

  const text = query.iterator;
  if (typeof text === 'string') {
    const iterator = decodeIterator(iteratorKeys[operation], text);
    if (!iterator) return { ok: false, errors: [{ field: 'query.iterator', message: 'is not an iterator of this list' }] };
    query.iterator = iterator;
  }
  return { ok: true, query: query as ParsedSvixQuery<Op> };
}

function decodeIterator(kind: SvixIdPrefix | 'name' | undefined, text: string): ListIterator | undefined {
  if (kind === undefined) return undefined;
  if (kind === 'name') return { direction: 'after', key: text, text };
  const before = text.startsWith('-');
  const key = positionOfExternalId(kind, before ? text.slice(1) : text);
  return key ? { direction: before ? 'before' : 'after', key, text } : undefined;
}

/**
 * How to fetch a page by keyset: `limit + 1` rows (`take`) ordered by the key in `walk`, only rows whose key
 * is strictly past `from` in that direction (`>` when walking ascending, `<` descending). A prevIterator walks
 * against the list's order; listResponse turns that page back around.
 */
export function keysetOf(order: ListOrder, limit: number, iterator: ListIterator | undefined): { walk: 'asc' | 'desc'; from?: string; take: number } {
  const listWalk = order === 'ascending' ? 'asc' : 'desc';
  const walk = iterator?.direction === 'before' ? (listWalk === 'asc' ? 'desc' : 'asc') : listWalk;
  return iterator ? { walk, from: iterator.key, take: limit + 1 } : { walk, take: limit + 1 };
}

/**
 * Svix's list envelope from the rows keysetOf fetched (already shaped as answer items): at most `limit` of
 * them, in the list's order; `iterator` is the last item's key (`iteratorOf`), `prevIterator` `-` and the
 * first's (null where paging back is not offered), `done` whether no row followed. An empty page keeps the
 * position it was asked from, so a caller polling for new items can ask again with the same iterator.
 */
export function listResponse<Item>(
  fetched: readonly Item[],
  page: { limit: number; iterator?: ListIterator; iteratorOf: (item: Item) => string; prev?: boolean },
): { data: Item[]; iterator: string | null; prevIterator: string | null; done: boolean } {
  const data = fetched.slice(0, page.limit);
  if (page.iterator?.direction === 'before') data.reverse();
  const first = data[0];
  const last = data[data.length - 1];
  const position = page.iterator ? (page.iterator.direction === 'before' ? page.iterator.text.slice(1) : page.iterator.text) : null;
  return {
    data,
    iterator: last === undefined ? position : page.iteratorOf(last),
    prevIterator: page.prev === false || first === undefined ? null : `-${page.iteratorOf(first)}`,
    done: fetched.length <= page.limit,
  };
}
