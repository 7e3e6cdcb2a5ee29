import type { JobView, QualitySummary, TargetQualityResult } from '@ffleet/core';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A job for people: state, outputs with sizes, time per stage, the error if any. */
export function printJob(
  job: JobView,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): void {
  out(
    `${job.id}  ${job.name}  pool=${job.pool}  state=${job.state}  attempts=${job.attempts.made}/${job.attempts.max}`,
  );
  for (const output of job.outputs ?? []) {
    out(
      `  output ${output.url}  ${formatBytes(output.bytes)}${output.files ? `  (${output.files.length} files)` : ''}`,
    );
  }
  if (job.timings) {
    const t = job.timings;
    out(
      `  time   download ${t.download} ms · ffmpeg ${t.ffmpeg} ms · upload ${t.upload} ms · total ${t.total} ms`,
    );
  }
  if (job.quality) out(`  quality ${qualityText(job.quality)}`);
  for (const rung of job.rungQuality ?? [])
    out(`  rung   ${rung.name} (${rung.width}x${rung.height})  ${qualityText(rung.quality)}`);
  if (job.targetQuality) printTarget(job.targetQuality, out);
  if (job.metricsUrl) out(`  metrics ${job.metricsUrl}`);
  if (job.links.trace) out(`  trace  ${job.links.trace}`);
  else if (job.traceId) out(`  trace  ${job.traceId}`);
  if (job.error) {
    out(`  error  ${job.error.code}: ${job.error.message}`);
    for (const line of job.error.stderr ?? []) out(`         ${line}`);
  }
}

/** A quality summary in one line: the scores and what was compared, or why there are none. */
function qualityText(q: QualitySummary): string {
  if (q.status !== 'measured') return `${q.status}${q.reason ? `: ${q.reason}` : ''}`;
  const vmaf =
    q.vmaf !== undefined
      ? ` · VMAF ${q.vmaf.toFixed(2)}`
      : q.vmafUnavailable
        ? ` · VMAF unavailable (${q.vmafUnavailable})`
        : '';
  const frames =
    q.mode === 'sampled'
      ? q.windows
        ? ` · ${q.frames} frames in ${q.windows} windows`
        : ` · 1 frame in ${q.subsample}`
      : q.mode === 'full'
        ? ' · every frame'
        : '';
  return `PSNR ${q.psnr?.toFixed(2)} dB · SSIM ${q.ssim?.toFixed(4)}${vmaf}${frames}`;
}

/** How a quality target chose the CRF: the choice, the probes (CRF → score), the score and the saving. */
function printTarget(t: TargetQualityResult, out: (line: string) => void): void {
  const metric = t.metric.toUpperCase();
  const score = t.score !== undefined ? ` · score ${t.score.toFixed(4)}` : '';
  const saved = t.savedPercent !== undefined ? ` · ${t.savedPercent}% smaller than CRF ${t.defaultCrf}` : '';
  const probes = (p: TargetQualityResult['probes']) =>
    p.map((x) => `${x.crf}→${x.score.toFixed(4)}`).join(' ');
  if (t.chunks) {
    out(`  target ${metric} ${t.min}–${t.max}: ${t.chunks.length} chunks, mean CRF ${t.crf}${score}${saved}`);
    for (const c of t.chunks) {
      const chunkScore = c.score !== undefined ? ` · score ${c.score.toFixed(4)}` : '';
      out(
        `         chunk ${c.index}: CRF ${c.crf}${c.met ? '' : ' (fallback)'} · probes ${probes(c.probes)}${chunkScore}`,
      );
    }
  } else {
    const on = t.probedOn === 'samples' && t.samples ? ` on ${t.samples.count} samples` : '';
    out(
      `  target ${metric} ${t.min}–${t.max}: CRF ${t.crf} · probes${on} ${probes(t.probes)}${score}${saved}`,
    );
  }
  if (t.fallback) out(`         ${t.fallback}`);
}
