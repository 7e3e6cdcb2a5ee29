export type { JobView } from '@ffleet/core';
export { GatewayClient } from './client.ts';
export { formatBytes, printJob } from './commands/print.ts';
export { scaleArgs, scalePool } from './commands/scale.ts';
export { watchJob } from './commands/watch.ts';
export { type CliConfig, CliSettings, loadCliConfig } from './config.ts';
export { buildProgram, jobFromFlags } from './program.ts';
export * from './report/index.ts';
