export * from './events';
export * from './api';
export * from './deliveryStateMachine';
export * from './topics';
export * from './validation';
export * from './openapi';
export * from './subscriptionHistory';
export * from './svix';
