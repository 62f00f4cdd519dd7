import type { EndpointIn, EndpointPatch } from '@hookpost/contracts';
import { keyValues, listOption, stringOption, type Options } from '../commandLine';
import type { Handler } from '../context';
import { UsageError } from '../errors';
import { json } from '../output';
import { applicationColumns, applicationDetails, endpointColumns, endpointDetails } from '../views';
import { pagingQuery, printList } from './listing';

/** `apps …` and `endpoints …`: the resources a user creates and changes. */

const required = (value: string | undefined, name: string): string => {
  if (value === undefined) throw new UsageError(`missing <${name}>`);
  return value;
};

export const appsList: Handler = async (context, _args, options) => {
  const client = await context.client();
  await printList(context, options, (query) => client.listApplications(query), pagingQuery(options), applicationColumns);
};

export const appsCreate: Handler = async (context, args, options) => {
  const client = await context.client();
  const metadata = keyValues(options.metadata, 'metadata');
  const uid = stringOption(options.uid);
  const app = await client.createApplication({ name: required(args.name, 'name'), ...(uid ? { uid } : {}), ...(metadata ? { metadata } : {}) });
  context.out(context.json ? json(app) : applicationDetails(app, context.paint));
};

export const appsGet: Handler = async (context, args) => {
  const app = await (await context.client()).getApplication(required(args.app, 'app'));
  context.out(context.json ? json(app) : applicationDetails(app, context.paint));
};

export const appsDelete: Handler = async (context, args) => {
  const app = required(args.app, 'app');
  await (await context.client()).deleteApplication(app);
  context.out(context.json ? json({ deleted: true, app }) : `Deleted application ${app} and its endpoints.`);
};

export const endpointsList: Handler = async (context, args, options) => {
  const client = await context.client();
  const app = required(args.app, 'app');
  await printList(context, options, (query) => client.listEndpoints(app, query), pagingQuery(options), endpointColumns);
};

/** The endpoint fields create and update share, from the options given (absent ones are left out). */
function endpointFields(options: Options, forPatch: boolean): Partial<EndpointIn> & Partial<EndpointPatch> {
  const eventTypes = listOption(options['event-types']);
  const channels = listOption(options.channels);
  const metadata = keyValues(options.metadata, 'metadata');
  const description = stringOption(options.description);
  const uid = stringOption(options.uid);
  // (in a patch an empty list means "every type / channel", which the API reads from null)
  const emptyAs = (values: string[] | undefined) => (values === undefined ? undefined : values.length === 0 ? (forPatch ? null : undefined) : values);
  const filterTypes = emptyAs(eventTypes);
  const channelList = emptyAs(channels);
  return {
    ...(description !== undefined ? { description } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(filterTypes !== undefined ? { filterTypes } : {}),
    ...(channelList !== undefined ? { channels: channelList } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

export const endpointsCreate: Handler = async (context, args, options) => {
  const client = await context.client();
  const secret = stringOption(options.secret);
  const endpoint = await client.createEndpoint(required(args.app, 'app'), {
    url: required(args.url, 'url'),
    ...endpointFields(options, false),
    ...(secret ? { secret } : {}),
    ...(options.disabled === true ? { disabled: true } : {}),
  });
  context.out(context.json ? json(endpoint) : endpointDetails(endpoint, context.paint));
};

export const endpointsGet: Handler = async (context, args) => {
  const endpoint = await (await context.client()).getEndpoint(required(args.app, 'app'), required(args.endpoint, 'endpoint'));
  context.out(context.json ? json(endpoint) : endpointDetails(endpoint, context.paint));
};

export const endpointsUpdate: Handler = async (context, args, options) => {
  if (options.disable === true && options.enable === true) throw new UsageError('--disable and --enable: one or the other');
  const url = stringOption(options.url);
  const patch: EndpointPatch = {
    ...(url !== undefined ? { url } : {}),
    ...endpointFields(options, true),
    ...(options.disable === true ? { disabled: true } : options.enable === true ? { disabled: false } : {}),
  };
  if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give --url, --description, --event-types, --channels, --uid, --metadata, --disable or --enable');
  const endpoint = await (await context.client()).updateEndpoint(required(args.app, 'app'), required(args.endpoint, 'endpoint'), patch);
  context.out(context.json ? json(endpoint) : endpointDetails(endpoint, context.paint));
};

export const endpointsDelete: Handler = async (context, args) => {
  const app = required(args.app, 'app');
  const endpoint = required(args.endpoint, 'endpoint');
  await (await context.client()).deleteEndpoint(app, endpoint);
  context.out(context.json ? json({ deleted: true, app, endpoint }) : `Deleted endpoint ${endpoint}; its waiting retries are cancelled.`);
};

export const endpointsSecret: Handler = async (context, args) => {
  const secret = await (await context.client()).getEndpointSecret(required(args.app, 'app'), required(args.endpoint, 'endpoint'));
  context.out(context.json ? json(secret) : secret.key);
};
