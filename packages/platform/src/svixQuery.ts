import { parseSvixQuery, type SvixQueryOperation } from '@hookpost/contracts';
import { ValidationFailed } from './problem';

/** An operation's query as the OpenAPI document states it, defaults filled; a value outside it is a 422 naming the parameter. */
export function svixQuery<Op extends SvixQueryOperation>(operation: Op, raw: Readonly<Record<string, unknown>>) {
  const parsed = parseSvixQuery(operation, raw);
  if (!parsed.ok) throw new ValidationFailed(parsed.errors, 'A query parameter is outside its schema.');
  return parsed.query;
}
