export type { JobView } from '@ffleet/core';
export { buildGateway, type GatewayOptions } from './app.ts';
export { type GatewayConfig, GatewaySettings, loadGatewayConfig } from './config.ts';
export { FleetQueues } from './jobs/fleet-queues.ts';
export { type ApiToken, parseTokensFile } from './tokens.ts';
