import { readFile } from 'node:fs/promises';
import { listOption, stringOption, type Options } from '../commandLine';
import { readStdin, type Context, type Handler } from '../context';
import { UsageError } from '../errors';
import type { Query } from '../hookpostClient';
import { json, shortTime } from '../output';
import { parseTime } from '../time';
import { attemptColumns, messageColumns, messageDetails } from '../views';
import { pagingQuery, printList } from './listing';

/** `send`, `messages`, `attempts`, `resend`, `recover`: messages and their deliveries. */

const required = (value: string | undefined, name: string): string => {
  if (value === undefined) throw new UsageError(`missing <${name}>`);
  return value;
};

/** A message payload: a JSON object (what the API delivers as the body), or a usage error saying what is wrong. */
export function parsePayload(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the payload (${source}) is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`the payload (${source}) must be a JSON object, like {"id": 1}`);
  return value as Record<string, unknown>;
}

/** Where the payload comes from: the argument, --file (- for stdin), or stdin when it is not a terminal. */
async function payloadText(context: Context, argument: string | undefined, file: string | undefined): Promise<{ text: string; source: string }> {
  if (argument !== undefined && file !== undefined) throw new UsageError('give the payload as an argument or with --file, not both');
  if (argument !== undefined) return { text: argument, source: 'argument' };
  if (file === '-' || (file === undefined && !context.io.stdinIsTTY)) return { text: (await readStdin(context.io)).toString('utf8'), source: 'stdin' };
  if (file !== undefined) {
    try {
      return { text: await readFile(file, 'utf8'), source: file };
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  throw new UsageError('no payload: give it as an argument, with --file, or on stdin');
}

export const send: Handler = async (context, args, options) => {
  const app = required(args.app, 'app');
  const { text, source } = await payloadText(context, args.payload, stringOption(options.file));
  const payload = parsePayload(text, source);
  const channels = listOption(options.channels);
  const tags = listOption(options.tags);
  const eventId = stringOption(options['event-id']);
  const client = await context.client();
  const message = await client.createMessage(
    app,
    {
      eventType: required(args['event-type'], 'event-type'),
      payload,
      ...(channels && channels.length > 0 ? { channels } : {}),
      ...(tags && tags.length > 0 ? { tags } : {}),
      ...(eventId ? { eventId } : {}),
    },
    stringOption(options['idempotency-key']),
  );
  context.out(context.json ? json(message) : `Sent ${message.id} (${message.eventType}) at ${shortTime(message.timestamp)}.`);
};

/** The message filters messages and attempts share, as query parameters. */
function messageFilterQuery(context: Context, options: Options): Query {
  const now = context.io.now();
  const before = stringOption(options.before);
  const after = stringOption(options.after);
  return {
    event_types: listOption(options['event-types']),
    channel: stringOption(options.channel),
    tag: stringOption(options.tag),
    before: before === undefined ? undefined : parseTime(before, now, '--before'),
    after: after === undefined ? undefined : parseTime(after, now, '--after'),
  };
}

export const messages: Handler = async (context, args, options) => {
  const app = required(args.app, 'app');
  const client = await context.client();
  if (args.message !== undefined) {
    const message = await client.getMessage(app, args.message);
    context.out(context.json ? json(message) : messageDetails(message, context.paint));
    return;
  }
  // (a table shows no payloads: they are not fetched unless the JSON is asked for)
  const query = { ...messageFilterQuery(context, options), ...pagingQuery(options), with_content: context.json ? undefined : false };
  await printList(context, options, (page) => client.listMessages(app, page), query, messageColumns);
};

const ATTEMPT_STATUSES: Record<string, number> = { success: 0, pending: 1, fail: 2, failed: 2, sending: 3 };

/** `--status` by name (or Svix's number) as the API's status filter. */
export function attemptStatus(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const status = ATTEMPT_STATUSES[text] ?? (/^[0-3]$/.test(text) ? Number(text) : undefined);
  if (status === undefined) throw new UsageError(`--status takes success, pending, fail or sending, not ${JSON.stringify(text)}`);
  return status;
}

export const attempts: Handler = async (context, args, options) => {
  const app = required(args.app, 'app');
  const message = stringOption(options.message);
  const endpoint = stringOption(options.endpoint);
  if (message === undefined && endpoint === undefined) throw new UsageError('give --message <msg> or --endpoint <ep> (or both)');
  const client = await context.client();
  const query: Query = {
    ...messageFilterQuery(context, options),
    ...pagingQuery(options),
    status: attemptStatus(stringOption(options.status)),
  };
  const list =
    message !== undefined
      ? (page: Query) => client.listAttemptsByMessage(app, message, { ...page, endpoint_id: endpoint })
      : (page: Query) => client.listAttemptsByEndpoint(app, endpoint!, page);
  await printList(context, options, list, query, attemptColumns);
};

export const resend: Handler = async (context, args) => {
  const app = required(args.app, 'app');
  const message = required(args.message, 'message');
  const endpoint = required(args.endpoint, 'endpoint');
  await (await context.client()).resend(app, message, endpoint);
  context.out(context.json ? json({ resent: true, app, message, endpoint }) : `Resending ${message} to ${endpoint}.`);
};

export const recover: Handler = async (context, args, options) => {
  const app = required(args.app, 'app');
  const endpoint = required(args.endpoint, 'endpoint');
  const sinceText = stringOption(options.since);
  if (sinceText === undefined) throw new UsageError('recover needs --since <time> (e.g. --since 2h, or an RFC 3339 time)');
  const now = context.io.now();
  const since = parseTime(sinceText, now, '--since');
  const untilText = stringOption(options.until);
  const until = untilText === undefined ? undefined : parseTime(untilText, now, '--until');
  if (until !== undefined && until <= since) throw new UsageError('--until must be after --since');
  const task = await (await context.client()).recover(app, endpoint, { since, ...(until ? { until } : {}) });
  context.out(
    context.json
      ? json(task)
      : `Recovering failed deliveries to ${endpoint} since ${shortTime(since)}${until ? ` until ${shortTime(until)}` : ''}: task ${task.id} (${task.status}).`,
  );
};
