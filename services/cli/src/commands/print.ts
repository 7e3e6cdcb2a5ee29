import type { JobView } from '../client.ts';

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
  if (job.error) {
    out(`  error  ${job.error.code}: ${job.error.message}`);
    for (const line of job.error.stderr ?? []) out(`         ${line}`);
  }
}
