export type { JobView } from '@ffleet/core';
export { buildGateway, type GatewayOptions } from './app.ts';
export { FleetQueues, jobOptions } from './jobs/fleet-queues.ts';
