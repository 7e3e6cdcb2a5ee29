/**
 * What the glibc malloc settings ffleet gives its quality comparisons (`FRAMES_GLIBC_TUNABLES`)
 * change, and why a job's own encode does not get them: the e2e job's encode and the default
 * (sampled) quality measurement of its output, each run alternately with the settings and with
 * glibc's defaults, forced both ways through the operator's switch (FFLEET_FFMPEG_ENV naming
 * GLIBC_TUNABLES). Each ratio is the median time with glibc's defaults ÷ the median time with
 * the settings: above 1, they save time.
 */
import { join } from 'node:path';
import { FRAMES_GLIBC_TUNABLES, ffmpegOutput } from '@ffleet/core';
import { measureQuality } from '@ffleet/worker';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { E2E_COMMAND, e2eClip } from './e2e-job.ts';
import { median } from './median.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';

type Setting = 'tuned' | 'glibc_default';

export async function measureMallocSettings(options: PartOptions): Promise<void> {
  const { quick, work, print } = options;
  const clip = join(work, 'malloc-input.mp4');
  const output = join(work, 'malloc-output.mp4');
  await makeSampleClip(clip, e2eClip(quick));
  const encode = () =>
    ffmpegOutput('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', clip, ...E2E_COMMAND.split(' '), output], {
      timeoutMs: 600_000,
    });
  const measure = () =>
    measureQuality({
      reference: clip,
      distorted: output,
      workDir: join(work, 'malloc-quality'),
      mode: 'sampled',
    });

  const times: Record<'encode' | 'quality', Record<Setting, number[]>> = {
    encode: { tuned: [], glibc_default: [] },
    quality: { tuned: [], glibc_default: [] },
  };
  const runs = quick ? 1 : 3;
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first, so machine drift hits both alike.
    const order: Setting[] = run % 2 === 0 ? ['tuned', 'glibc_default'] : ['glibc_default', 'tuned'];
    for (const setting of order) {
      await withSetting(setting, async () => {
        times.encode[setting].push(await timed(encode));
        times.quality[setting].push(await timed(measure));
      });
    }
  }
  for (const part of ['encode', 'quality'] as const) {
    const [ours, glibc] = [median(times[part].tuned), median(times[part].glibc_default)];
    print(`ffmpeg_malloc_${part}_ms`, `${Math.round(ours)} (glibc defaults: ${Math.round(glibc)})`);
    print(`ffmpeg_malloc_${part}_speedup`, Number((glibc / ours).toFixed(3)));
  }
}

/** Runs `fn` with every ffmpeg getting the settings, or glibc's defaults, whatever it asks for. */
async function withSetting(setting: Setting, fn: () => Promise<void>): Promise<void> {
  const saved = { env: process.env.FFLEET_FFMPEG_ENV, tunables: process.env.GLIBC_TUNABLES };
  process.env.FFLEET_FFMPEG_ENV = 'GLIBC_TUNABLES';
  process.env.GLIBC_TUNABLES = setting === 'tuned' ? FRAMES_GLIBC_TUNABLES : '';
  try {
    await fn();
  } finally {
    restore('FFLEET_FFMPEG_ENV', saved.env);
    restore('GLIBC_TUNABLES', saved.tunables);
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** `node bench/ffmpeg-malloc.ts`: this part alone. BENCH_QUICK=1 shortens it. */
if (import.meta.main) await runPartAlone('malloc', measureMallocSettings);
