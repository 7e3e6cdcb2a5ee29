export { buildGateway, type GatewayOptions } from './app.ts';
export { FleetQueues } from './jobs/fleet-queues.ts';
export type { JobView } from './jobs/view.ts';
