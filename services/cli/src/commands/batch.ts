import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchCounts, type BatchItemsPage, type BatchView, isFinishedState } from '@ffleet/core';
import cliProgress from 'cli-progress';
import type { GatewayClient } from '../client.ts';

export interface BatchFlags {
  file?: string;
  name?: string;
  compute?: string;
  instanceType?: string;
  globalOptions?: string;
  inputOptions?: string;
  output: string[];
  outputOptions: string[];
  from?: string;
  suffix?: string;
  max?: string;
  priority?: string;
}

/** A batch body from a JSON template, flags, or both (flags win); `inputs` are URLs by now. */
export async function batchFromFlags(flags: BatchFlags, inputs: string[]): Promise<Record<string, unknown>> {
  const spec: Record<string, unknown> = flags.file ? JSON.parse(await readFile(flags.file, 'utf8')) : {};
  if (flags.name) spec.name = flags.name;
  spec.name ??= 'batch';
  if (flags.compute) spec.compute = flags.compute;
  if (flags.instanceType) spec.instanceType = flags.instanceType;
  if (flags.globalOptions) spec.globalOptions = flags.globalOptions;
  if (flags.inputOptions) spec.inputOptions = flags.inputOptions;
  if (flags.priority) spec.priority = Number(flags.priority);
  if (inputs.length > 0) spec.items = inputs;
  if (flags.from) {
    spec.itemsFrom = {
      prefix: flags.from,
      ...(flags.suffix ? { suffix: flags.suffix } : {}),
      ...(flags.max ? { max: Number(flags.max) } : {}),
    };
  }
  if (flags.output.length > 0)
    spec.outputs = flags.output.map((url, i) =>
      flags.outputOptions[i] ? { url, options: flags.outputOptions[i] } : { url },
    );
  return spec;
}

const finishedItems = (c: BatchCounts) => c.succeeded + c.failed + c.cancelled;
const countsLine = (c: BatchCounts) =>
  `queued=${c.queued} running=${c.running} succeeded=${c.succeeded} failed=${c.failed} cancelled=${c.cancelled}`;

/** Follows a batch until it ends: a bar of finished items on a terminal, else a line per change. */
export async function watchBatch(
  client: GatewayClient,
  id: string,
  opts: { intervalMs?: number } = {},
): Promise<BatchView> {
  const interactive = process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    {
      format: ' batch |{bar}| {value}/{total} | {counts}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let lastLine = '';
  for (;;) {
    const batch = await client.request<BatchView>('GET', `/v1/batches/${id}`);
    const done = finishedItems(batch.counts);
    if (interactive) {
      if (!started) bar.start(batch.counts.total, done, { counts: countsLine(batch.counts) });
      else bar.update(done, { counts: countsLine(batch.counts) });
      started = true;
    } else {
      const line = `${id} ${batch.state} ${done}/${batch.counts.total} ${countsLine(batch.counts)}`;
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    }
    if (isFinishedState(batch.state)) {
      if (started) bar.stop();
      return batch;
    }
    await sleep(opts.intervalMs ?? 500);
  }
}

/** A batch for people: its state and counts, the manifest, and its failed items. */
export async function printBatch(
  client: GatewayClient,
  batch: BatchView,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<void> {
  out(`${batch.id}  ${batch.name}  pool=${batch.pool}  state=${batch.state}  ${countsLine(batch.counts)}`);
  if (batch.manifest) out(`  manifest ${batch.manifest.json}\n  manifest ${batch.manifest.csv}`);
  if (batch.counts.failed === 0) return;
  let cursor: string | null = '0';
  let shown = 0;
  while (cursor !== null && shown < 20) {
    const page: BatchItemsPage = await client.request<BatchItemsPage>(
      'GET',
      `/v1/batches/${batch.id}/items?cursor=${cursor}&limit=500`,
    );
    for (const item of page.items)
      if (item.state === 'failed' && shown++ < 20)
        out(`  failed #${item.index} ${item.input}  ${item.error?.code ?? ''}: ${item.error?.message ?? ''}`);
    cursor = page.nextCursor;
  }
}

/** The objects a finished batch wrote, from its manifest's JSON (a local copy). */
export async function manifestOutputs(manifestFile: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    items: { outputs: { url: string }[] }[];
  };
  return manifest.items.flatMap((item) => item.outputs.map((o) => o.url));
}
