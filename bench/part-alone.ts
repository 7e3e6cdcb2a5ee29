/** Running one part of `make bench` on its own (`node bench/<part>.ts`; BENCH_QUICK=1 for a short run). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PartOptions {
  quick: boolean;
  /** A scratch folder of the part's own, removed after it. */
  work: string;
  print: (name: string, value: string | number) => void;
}

export async function runPartAlone(
  name: string,
  measure: (options: PartOptions) => Promise<void>,
): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), `ffleet-bench-${name}-`));
  try {
    await measure({
      quick: process.env.BENCH_QUICK === '1',
      work,
      print: (metric, value) => process.stdout.write(`${metric}: ${value}\n`),
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
