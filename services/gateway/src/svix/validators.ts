import {
  validateApplicationIn,
  validateApplicationPatch,
  validateEndpointHeadersIn,
  validateEndpointHeadersPatchIn,
  validateEndpointIn,
  validateEndpointPatch,
  validateEndpointSecretRotateIn,
  validateEndpointUpdate,
  validateEventTypeIn,
  validateEventTypePatch,
  validateEventTypeUpsertIn,
  validateMessageIn,
  validateRecoverIn,
  validateReplayIn,
  validateReplayFromLogIn,
  validateEventExampleIn,
} from '@hookpost/contracts';
import type { SvixValidators } from './svixRouter';

/** Each Svix request body's schema (packages/contracts/src/svix/schemas.ts). */
export const svixValidators: SvixValidators = {
  applicationIn: validateApplicationIn,
  applicationPatch: validateApplicationPatch,
  endpointIn: validateEndpointIn,
  endpointUpdate: validateEndpointUpdate,
  endpointPatch: validateEndpointPatch,
  headersIn: validateEndpointHeadersIn,
  headersPatchIn: validateEndpointHeadersPatchIn,
  secretRotateIn: validateEndpointSecretRotateIn,
  eventTypeIn: validateEventTypeIn,
  eventTypeUpsertIn: validateEventTypeUpsertIn,
  eventTypePatch: validateEventTypePatch,
  messageIn: validateMessageIn,
  recoverIn: validateRecoverIn,
  replayIn: validateReplayIn,
  replayFromLogIn: validateReplayFromLogIn,
  eventExampleIn: validateEventExampleIn,
};
