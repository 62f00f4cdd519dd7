import type { ListResponse } from '@hookpost/contracts';
import { intOption, stringOption, type Options } from '../commandLine';
import type { Context } from '../context';
import type { Query } from '../hookpostClient';
import { json, type Column } from '../output';
import { pageText } from '../views';

/** The paging options every list takes, as query parameters. */
export function pagingQuery(options: Options): Query {
  return { limit: intOption(options.limit, 'limit', { min: 1, max: 250 }), iterator: stringOption(options.iterator) };
}

/**
 * Prints one page (or, with --all, every page) of a list: the API's envelope as JSON, or a table with the
 * iterator of the next page on stderr.
 */
export async function printList<Item>(
  context: Context,
  options: Options,
  list: (query: Query) => Promise<ListResponse<Item>>,
  query: Query,
  columns: readonly Column<Item>[],
): Promise<void> {
  const client = await context.client();
  let page: ListResponse<Item>;
  if (options.all === true) {
    const data: Item[] = [];
    let last: ListResponse<Item> | undefined;
    let prevIterator: string | null = null;
    for await (const each of client.everyPage(list, query)) {
      if (!last) prevIterator = each.prevIterator;
      data.push(...each.data);
      last = each;
    }
    page = { data, iterator: last?.iterator ?? null, prevIterator, done: true };
  } else {
    page = await list(query);
  }
  if (context.json) {
    context.out(json(page));
    return;
  }
  const { table, more } = pageText(page, columns, context.paint);
  context.out(table);
  if (more) context.note(context.paint('dim', more));
}
