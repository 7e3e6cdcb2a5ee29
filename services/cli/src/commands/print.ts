import type { JobView } from '@ffleet/core';

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
  const q = job.quality;
  if (q?.status === 'measured') {
    const vmaf =
      q.vmaf !== undefined
        ? ` · VMAF ${q.vmaf.toFixed(2)}`
        : q.vmafUnavailable
          ? ` · VMAF unavailable (${q.vmafUnavailable})`
          : '';
    const frames =
      q.mode === 'sampled' ? ` · 1 frame in ${q.subsample}` : q.mode === 'full' ? ' · every frame' : '';
    out(`  quality PSNR ${q.psnr?.toFixed(2)} dB · SSIM ${q.ssim?.toFixed(4)}${vmaf}${frames}`);
  } else if (q) out(`  quality ${q.status}${q.reason ? `: ${q.reason}` : ''}`);
  if (job.metricsUrl) out(`  metrics ${job.metricsUrl}`);
  if (job.links.trace) out(`  trace  ${job.links.trace}`);
  else if (job.traceId) out(`  trace  ${job.traceId}`);
  if (job.error) {
    out(`  error  ${job.error.code}: ${job.error.message}`);
    for (const line of job.error.stderr ?? []) out(`         ${line}`);
  }
}
