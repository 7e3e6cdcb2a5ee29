/**
 * What putting a worker's files in S3 costs the worker's CPU, on the local S3 server: a set of
 * files like a chunked job's pieces (12 MiB) and a ladder's segments (2 MiB) through
 * `S3Store.upload`, against the same files through lib-storage from a file stream (how ffleet
 * sent every file before, and how most callers use it), runs alternating. The ratio is the
 * median CPU from a stream ÷ the median through `S3Store.upload`: above 1, it saves CPU.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { parseStorageUrl, S3Store, s3SettingsFromEnv } from '@ffleet/core';
import { startStack } from '../scripts/lib/stack.ts';
import { median } from './median.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';

const MIB = 1024 * 1024;

export async function measureUploads({ quick, work, print }: PartOptions): Promise<void> {
  const files: string[] = [];
  let mebibytes = 0;
  for (const [count, mib] of [
    [quick ? 2 : 8, 12],
    [quick ? 5 : 20, 2],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const file = join(work, `upload-${mib}-${i}.bin`);
      await writeFile(file, randomBytes(mib * MIB));
      files.push(file);
      mebibytes += mib;
    }
  }

  const stack = await startStack();
  const settings = s3SettingsFromEnv({ ...process.env, ...stack.env });
  const store = new S3Store(settings);
  const url = (file: string) => parseStorageUrl(`s3://${stack.bucket}/bench/${file.split('/').at(-1)}`);
  const ways = {
    store: (file: string) => store.upload(file, url(file)),
    stream: async (file: string) => {
      const { bucket, key } = url(file) as { bucket: string; key: string };
      await new Upload({
        client: store.client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: (await stat(file)).size,
        },
        partSize: settings.partSize,
        queueSize: 4,
        leavePartsOnError: false,
      }).done();
    },
  };
  const cpu = { store: [] as number[], stream: [] as number[] };
  try {
    const runs = quick ? 1 : 5;
    for (let run = 0; run < runs; run++) {
      // Alternate which goes first, so machine drift hits both alike.
      const order = run % 2 === 0 ? (['store', 'stream'] as const) : (['stream', 'store'] as const);
      for (const way of order) {
        const before = process.cpuUsage();
        for (const file of files) await ways[way](file);
        const used = process.cpuUsage(before);
        cpu[way].push((used.user + used.system) / 1000);
      }
    }
  } finally {
    store.client.destroy();
    await stack.stop();
  }
  const perMib = (ms: number) => (ms / mebibytes).toFixed(2);
  print(
    'upload_files',
    `${files.length} files, ${mebibytes} MiB (12 MiB and 2 MiB), S3 part size ${settings.partSize / MIB} MiB`,
  );
  print('upload_cpu_ms_per_mib', perMib(median(cpu.store)));
  print('upload_stream_cpu_ms_per_mib', perMib(median(cpu.stream)));
  print('upload_cpu_saving', (median(cpu.stream) / median(cpu.store)).toFixed(2));
}

// `node bench/upload.ts` (BENCH_QUICK=1 for fewer files and one run): this part alone.
if (import.meta.main) await runPartAlone('upload', measureUploads);
