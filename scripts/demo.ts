/**
 * `make demo`: starts a local fleet (with Jaeger when installed), makes a 10 s 1080p sample
 * clip with ffmpeg's lavfi sources, uploads it through a presigned URL from the gateway, runs
 * three jobs (a 720p H.264 transcode, a stream-copy clip, an HLS folder), shows their
 * progress, prints each output with its size, the time per stage, the quality measured, the
 * records written and the trace; then encodes a 60 s clip in chunks on both workers (`split`),
 * runs a batch over five inputs (counts, manifest), makes an ABR ladder packaged as HLS and DASH
 * and prints the address of a page that plays it, makes previews of the sample clip (thumbnails,
 * poster, sprites with a WebVTT track, GIF/WebP snippets), runs `ffleet report` over the jobs, and stops
 * everything (at a terminal, once Enter is pressed).
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  formatBytes,
  GatewayClient,
  inputUrls,
  type JobView,
  type PlayServer,
  playJob,
  runReport,
  watchBatch,
} from '@ffleet/cli';
import { ffmpegOutput, isFinishedState, type QualitySummary, s3SettingsFromEnv } from '@ffleet/core';
import type { JaegerTrace } from './lib/jaeger.ts';
import { localPool, startLocalFleet } from './lib/local-fleet.ts';
import { makeSampleClip } from './lib/sample-clip.ts';

/** The job view with the fields the CLI's type leaves out. */
type DemoJob = JobView & {
  traceId: string | null;
  quality: QualitySummary | null;
  metricsUrl: string | null;
  timings: (JobView['timings'] & { quality?: number }) | null;
};

const say = (line = '') => process.stdout.write(`${line}\n`);

const ROOT = new URL('..', import.meta.url).pathname;
const work = await mkdtemp(join(tmpdir(), 'ffleet-demo-'));
// S3 data stays here after the demo, so its outputs can be opened as plain files.
const dataDir = join(ROOT, '.ffleet', 'demo');
say('▶ starting a local fleet (redis, S3, gateway, two workers, Jaeger)…');
const fleet = await startLocalFleet({
  quiet: true,
  dataDir,
  tracing: 'auto',
  pools: [localPool(), localPool()],
});
const localPath = (url: string) => join(dataDir, 's3', url.replace(/^s3:\/\//, ''));
const pool = fleet.pools[0]!;
const bucket = fleet.stack.bucket;
let failed = false;

try {
  const client = new GatewayClient(fleet.gatewayUrl);
  say(`  gateway ${fleet.gatewayUrl} · pool ${pool} · S3 ${fleet.stack.s3Endpoint} (bucket ${bucket})`);
  say(fleet.jaeger ? `  traces in Jaeger ${fleet.jaeger.queryUrl}` : `  tracing is off: ${fleet.tracingOff}`);

  say('▶ making a 10 s 1080p sample clip with ffmpeg lavfi sources…');
  const clip = join(work, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 10, size: '1920x1080', rate: 30, preset: 'veryfast' });

  const input = `s3://${bucket}/demo/sample.mp4`;
  const upload = await client.request<{ url: string }>('POST', '/v1/uploads', {
    url: input,
    contentType: 'video/mp4',
  });
  const put = await fetch(upload.url, {
    method: 'PUT',
    body: await readFile(clip),
    headers: { 'content-type': 'video/mp4' },
  });
  if (!put.ok) throw new Error(`upload failed: HTTP ${put.status}`);
  say(`  uploaded ${input} through a presigned URL`);

  const jobs = [
    {
      name: 'transcode-720p',
      compute: pool,
      inputs: [{ url: input }],
      outputs: [
        {
          url: `s3://${bucket}/demo/out/720p.mp4`,
          options:
            '-vf scale=-2:720 -c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 128k -movflags +faststart',
        },
      ],
    },
    {
      name: 'clip-video',
      compute: pool,
      inputs: [{ url: input, options: '-ss 2' }],
      outputs: [{ url: `s3://${bucket}/demo/out/clip.mp4`, options: '-t 5 -c:v copy -c:a copy' }],
    },
    {
      name: 'hls',
      compute: pool,
      inputs: [{ url: input }],
      outputs: [
        {
          url: `s3://${bucket}/demo/out/hls/`,
          options:
            '-vf scale=-2:540 -c:v libx264 -preset veryfast -g 60 -c:a aac -f hls -hls_time 2 -hls_playlist_type vod',
        },
      ],
    },
  ];
  say('▶ submitting three jobs to POST /v1/jobs…');
  const ids: string[] = [];
  for (const job of jobs) {
    const accepted = await client.request<{ id: string }>('POST', '/v1/jobs', job);
    ids.push(accepted.id);
    say(`  ${job.name.padEnd(15)} ${accepted.id}`);
  }

  say('▶ progress');
  const last = new Map<string, string>();
  let views: DemoJob[] = [];
  for (;;) {
    views = await Promise.all(ids.map((id) => client.request<DemoJob>('GET', `/v1/jobs/${id}`)));
    for (const job of views) {
      const p = job.progress;
      const line = `  ${job.name.padEnd(15)} ${job.state.padEnd(9)} ${(p?.stage ?? '').padEnd(8)} ${String(Math.floor(p?.percent ?? 0)).padStart(3)}%${p?.speed ? `  ${p.speed.toFixed(2)}x` : ''}`;
      const key = `${job.state}${p?.stage}${Math.floor((p?.percent ?? 0) / 20)}`;
      if (last.get(job.id) !== key) say(line);
      last.set(job.id, key);
    }
    if (views.every((j) => isFinishedState(j.state))) break;
    await sleep(300);
  }

  say('▶ results');
  for (const job of views) {
    say(`  ${job.name} — ${job.state}`);
    if (job.error) {
      failed = true;
      say(`    error ${job.error.code}: ${job.error.message}`);
    }
    for (const output of job.outputs ?? []) {
      say(
        `    output  ${output.url}  ${formatBytes(output.bytes)}${output.files ? ` in ${output.files.length} files` : ''}`,
      );
      say(`            ${localPath(output.url)}`);
    }
    if (job.timings) {
      const t = job.timings;
      const quality = t.quality === undefined ? '' : ` · quality ${t.quality} ms`;
      say(
        `    stages  download ${t.download} ms · ffmpeg ${t.ffmpeg} ms · upload ${t.upload} ms${quality} · total ${t.total} ms`,
      );
    }
    if (job.quality) say(`    quality ${describeQuality(job.quality)}`);
    if (job.metricsUrl) {
      say(`    metrics ${job.metricsUrl}`);
      say(`            ${localPath(job.metricsUrl)}`);
    }
    if (job.traceId && fleet.jaeger) {
      say(`    trace   ${fleet.jaeger.traceUrl(job.traceId)}`);
      say(
        `            ${describeTrace(await fleet.jaeger.waitForTrace(job.traceId, { minSpans: 5 }).catch(() => undefined))}`,
      );
    }
  }

  if (!(await chunkedDemo(client, work))) failed = true;
  if (!(await runBatchDemo(client, clip))) failed = true;
  const ladder = await ladderDemo(client, work);
  if (!ladder.ok) failed = true;
  if (!(await previewsDemo(client, `s3://${bucket}/demo/sample.mp4`))) failed = true;

  say('▶ ffleet report (quality and timing records in S3)');
  await runReport({
    bucket,
    s3: s3SettingsFromEnv(fleet.env),
    csvFile: join(dataDir, 'report.csv'),
    htmlFile: join(dataDir, 'report.html'),
    by: ['pool', 'job-name'],
    print: (text) => say(text.replace(/^/gm, '  ')),
  });
  if (fleet.jaeger) say('  (Jaeger stops with the demo: `make dev` keeps a fleet and its traces up)');
  if (ladder.player) {
    // A person at a terminal gets time to watch; a script goes on and stops the fleet.
    if (process.stdin.isTTY) {
      say(`▶ watch the ladder: ${ladder.player.urls.join('  ')} — press Enter to stop the demo`);
      await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    }
    await ladder.player.server.close();
  }
} catch (error) {
  failed = true;
  say(`demo failed: ${(error as Error).message}`);
} finally {
  say(`▶ stopping the local fleet (outputs stay under ${join(dataDir, 's3', bucket)})`);
  await fleet.stop();
  await rm(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/**
 * A batch over five inputs: five local copies of the clip uploaded as the CLI does, one template,
 * the counts as the items finish, then the manifest.
 */
async function runBatchDemo(client: GatewayClient, clip: string): Promise<boolean> {
  say('▶ a batch: one template over five inputs, each its own job');
  const takes = [];
  for (let i = 1; i <= 5; i++) {
    const take = join(work, `take-${i}.mp4`);
    await copyFile(clip, take);
    takes.push(take);
  }
  const inputs = await inputUrls(client, takes, `s3://${bucket}/demo/batch/in/`, () => {});
  say(`  uploaded ${inputs.length} inputs under ${inputs[0]!.slice(0, inputs[0]!.lastIndexOf('/') + 1)}`);
  const accepted = await client.request<{ id: string }>('POST', '/v1/batches', {
    name: 'demo-batch',
    compute: pool,
    items: inputs,
    outputs: [
      {
        url: `s3://${bucket}/demo/batch/out/{stem}-360p.mp4`,
        options: '-vf scale=-2:360 -c:v libx264 -preset veryfast -c:a copy',
      },
    ],
  });
  const batch = await watchBatch(client, accepted.id, { intervalMs: 300 });
  const c = batch.counts;
  say(
    `  ${batch.state}: ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled of ${c.total}`,
  );
  if (batch.manifest) {
    say(`    manifest ${batch.manifest.json}`);
    say(`             ${localPath(batch.manifest.json)}`);
    say(`             ${localPath(batch.manifest.csv)}`);
  }
  return batch.state === 'succeeded' && c.succeeded === c.total;
}

/**
 * A 60 s clip encoded in chunks (`split`): cut at keyframes, its chunks encoded by both workers
 * at once, the audio once, then joined; the output is checked against the source with ffprobe.
 */
async function chunkedDemo(client: GatewayClient, dir: string): Promise<boolean> {
  say('▶ a chunked encode: a 60 s clip in 10 s chunks on both workers…');
  const clip = join(dir, 'long.mp4');
  await makeSampleClip(clip, { seconds: 60, size: '1280x720', rate: 25, preset: 'veryfast' });
  const input = `s3://${bucket}/demo/long.mp4`;
  const upload = await client.request<{ url: string }>('POST', '/v1/uploads', { url: input });
  const put = await fetch(upload.url, { method: 'PUT', body: await readFile(clip) });
  if (!put.ok) throw new Error(`upload failed: HTTP ${put.status}`);
  const started = performance.now();
  const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
    name: 'chunked-720p',
    compute: pool,
    inputs: [{ url: input }],
    outputs: [
      {
        url: `s3://${bucket}/demo/out/chunked.mp4`,
        options: '-c:v libx264 -preset veryfast -crf 23 -threads 1 -c:a aac -b:a 128k -movflags +faststart',
      },
    ],
    split: { segmentSeconds: 10 },
  });
  say(`  chunked-720p    ${id}`);
  let job: DemoJob & { pipeline?: { chunks: { total: number; done: number; running: number } | null } };
  let shown = '';
  for (;;) {
    job = await client.request('GET', `/v1/jobs/${id}`);
    const chunks = job.pipeline?.chunks;
    const line =
      chunks && chunks.done < chunks.total
        ? `  chunks ${chunks.done}/${chunks.total} done, ${chunks.running} encoding · ${Math.floor(job.progress?.percent ?? 0)}% of frames`
        : `  ${job.state} ${chunks ? 'joining: ' : ''}${job.progress?.stage ?? ''}`;
    if (line !== shown) say(line);
    shown = line;
    if (isFinishedState(job.state)) break;
    await sleep(500);
  }
  if (job.state !== 'succeeded') {
    say(`  error ${job.error?.code}: ${job.error?.message}`);
    return false;
  }
  const output = job.outputs![0]!;
  const [source, joined] = await Promise.all([videoFrames(clip), videoFrames(localPath(output.url))]);
  say(
    `  output  ${output.url}  ${formatBytes(output.bytes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  say(`          ${localPath(output.url)}`);
  say(
    `  check   ${joined} video frames, as the source (${source}): ${joined === source ? 'same' : 'DIFFERENT'}`,
  );
  return joined === source;
}

/**
 * An ABR ladder of a 20 s 720p clip: the rungs of the default ladder up to 720p encoded on both
 * workers, packaged as HLS and DASH; a loopback page plays it with hls.js or dash.js.
 */
async function ladderDemo(
  client: GatewayClient,
  dir: string,
): Promise<{ ok: boolean; player?: { server: PlayServer; urls: string[] } }> {
  say('▶ an ABR ladder: a 20 s 720p clip, HLS and DASH, rungs encoded on both workers…');
  const clip = join(dir, 'ladder.mp4');
  await makeSampleClip(clip, { seconds: 20, size: '1280x720', rate: 25, preset: 'veryfast' });
  const input = `s3://${bucket}/demo/ladder.mp4`;
  const upload = await client.request<{ url: string }>('POST', '/v1/uploads', { url: input });
  const put = await fetch(upload.url, { method: 'PUT', body: await readFile(clip) });
  if (!put.ok) throw new Error(`upload failed: HTTP ${put.status}`);
  const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
    name: 'ladder',
    compute: pool,
    inputs: [{ url: input }],
    outputs: [{ url: `s3://${bucket}/demo/out/ladder/` }],
    ladder: { preset: 'veryfast' },
  });
  say(`  ladder          ${id}`);
  const job = await followPipeline(client, id, (view) => {
    const rungs = view.pipeline?.kind === 'ladder' ? view.pipeline.rungs : null;
    return rungs ? `rungs ${rungs.filter((r) => r.state === 'done').length}/${rungs.length} done · ` : '';
  });
  if (job.state !== 'succeeded' || job.pipeline?.kind !== 'ladder') {
    say(`  error ${job.error?.code}: ${job.error?.message}`);
    return { ok: false };
  }
  // With quality on (the fleet default), each rung measured against the source.
  const measured = new Map((job.rungQuality ?? []).map((r) => [r.name, r.quality]));
  for (const rung of job.pipeline.rungs ?? []) {
    const quality = measured.get(rung.name);
    say(
      `  rung    ${rung.width}x${rung.height} ${rung.bitrateKbps} kb/s${quality ? ` · ${rungScores(quality)}` : ''}`,
    );
  }
  for (const rung of job.pipeline.dropped)
    say(`  dropped ${rung.height}p ${rung.bitrateKbps} kb/s: ${rung.reason}`);
  const player = await playJob(client, s3SettingsFromEnv(fleet.env), id);
  const master = await fetch(`${player.server.url}media/master.m3u8`);
  say(`  player  ${player.urls.join('  ')}`);
  say(
    `          (the page reads ${localPath(`s3://${bucket}/demo/out/ladder/`)} through the local S3 server)`,
  );
  return { ok: master.ok, player };
}

/** Polls a pipeline job until it ends, saying each new line: its children (`children`) and its state. */
async function followPipeline(
  client: GatewayClient,
  id: string,
  children: (job: JobView) => string,
): Promise<JobView> {
  let shown = '';
  for (;;) {
    const job = await client.request<JobView>('GET', `/v1/jobs/${id}`);
    const line = `  ${children(job)}${job.state} ${job.progress?.stage ?? ''}`;
    if (line !== shown) say(line);
    shown = line;
    if (isFinishedState(job.state)) return job;
    await sleep(500);
  }
}

/**
 * Previews of the sample clip: thumbnails, a poster, sprite sheets with a WebVTT track and an
 * animated GIF and WebP per 2 s snippet, the snippets made on both workers, a manifest last.
 */
async function previewsDemo(client: GatewayClient, input: string): Promise<boolean> {
  say('▶ previews of the sample clip: thumbnails, poster, sprites + WebVTT, GIF/WebP per 2 s snippet…');
  const folder = `s3://${bucket}/demo/out/previews/`;
  const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
    name: 'previews',
    compute: pool,
    inputs: [{ url: input }],
    outputs: [{ url: folder }],
    previews: {
      thumbnails: { percents: [25, 50, 75] },
      sprite: { intervalSeconds: 1, columns: 5, rows: 2 },
      animations: { snippetSeconds: 2 },
    },
  });
  say(`  previews        ${id}`);
  const job = await followPipeline(client, id, (view) => {
    const p = view.pipeline?.kind === 'previews' ? view.pipeline : undefined;
    return p?.snippets
      ? `snippets ${p.snippets.done}/${p.snippets.total} done · sheets ${p.sheets?.done ?? 0}/${p.sheets?.total ?? 0} · `
      : '';
  });
  if (job.state !== 'succeeded') {
    say(`  error ${job.error?.code}: ${job.error?.message}`);
    return false;
  }
  const files = job.outputs?.[0]?.files ?? [];
  say(
    `  made    ${files.length} files, ${formatBytes(job.outputs?.[0]?.bytes ?? 0)}, listed in manifest.json (written last)`,
  );
  say(`  folder  ${localPath(folder)}`);
  return files.some((f) => f.url.endsWith('/manifest.json'));
}

/** The number of video frames in a file, from its packets (ffprobe). */
async function videoFrames(file: string): Promise<number> {
  const out = await ffmpegOutput('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
  ]);
  return Number(out.trim());
}

/** A rung's scores, short: the ladder's lines are read side by side (VMAF and what was compared are as in the job above). */
function rungScores(q: QualitySummary): string {
  if (q.status !== 'measured') return `not measured: ${q.reason}`;
  const vmaf = q.vmaf !== undefined ? ` · VMAF ${q.vmaf.toFixed(2)}` : '';
  return `PSNR ${q.psnr?.toFixed(2)} dB · SSIM ${q.ssim?.toFixed(4)}${vmaf}`;
}

function describeQuality(q: QualitySummary): string {
  if (q.status !== 'measured') return `not measured: ${q.reason}`;
  const vmaf = q.vmaf !== undefined ? `VMAF ${q.vmaf.toFixed(2)}` : `VMAF unavailable (${q.vmafUnavailable})`;
  const frames =
    q.mode !== 'sampled'
      ? 'every frame'
      : q.windows
        ? `${q.frames} frames in ${q.windows} windows`
        : `1 frame in ${q.subsample}`;
  return `PSNR ${q.psnr?.toFixed(2)} dB · SSIM ${q.ssim?.toFixed(4)} · ${vmaf} · ${frames}`;
}

/** The spans of a job's trace, as the worker's stages with their durations. */
function describeTrace(found: JaegerTrace | undefined): string {
  if (!found) return 'not in Jaeger yet';
  const ms = (name: string) => {
    const span = found.spans.find((s) => s.operationName === name);
    return span ? `${name} ${Math.round(span.duration / 1000)} ms` : undefined;
  };
  const stages = ['download', 'ffmpeg', 'upload', 'quality'].map(ms).filter(Boolean).join(', ');
  return `${found.spans.length} spans: POST /v1/jobs → job → ${stages}`;
}
