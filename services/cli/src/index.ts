export type { JobView } from '@ffleet/core';
export { GatewayClient, resolveGateway } from './client.ts';
export { formatBytes, printJob } from './commands/print.ts';
export { scaleArgs, scalePool } from './commands/scale.ts';
export { watchJob } from './commands/watch.ts';
export { buildProgram, jobFromFlags } from './program.ts';
export * from './report/index.ts';
