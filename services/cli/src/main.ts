#!/usr/bin/env node
import { loadOrExit } from '@ffleet/core';
import { ApiError } from './client.ts';
import { loadCliConfig } from './config.ts';
import { buildProgram } from './program.ts';

const config = loadOrExit('ffleet', () => loadCliConfig());
try {
  await buildProgram(config).parseAsync(process.argv);
} catch (error) {
  if (error instanceof ApiError) {
    process.stderr.write(`ffleet: ${error.message}\n`);
    const details = (error.body as { details?: unknown } | undefined)?.details;
    if (details) process.stderr.write(`${JSON.stringify(details, null, 2)}\n`);
  } else process.stderr.write(`ffleet: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
