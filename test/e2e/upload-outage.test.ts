/**
 * The S3 server killed while a job uploads. Back within the upload's retry time: the job
 * succeeds on its one attempt with the whole object. Away for longer: the job fails with
 * `storage_unavailable` and nothing is left at its output URL, neither objects (those it wrote
 * are removed) nor multipart uploads (aborted once S3 answers again). A folder output publishes
 * its playlists after everything they name.
 *
 * The kill comes as soon as the upload is listed, so now and then it cuts off the reply to
 * CreateMultipartUpload: S3 has an upload whose id the worker never got, and the SDK's retry
 * starts another. Either way none may be left (services/core/test/s3-lost-reply.test.ts loses
 * that reply every time).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ffmpegOutput } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { ffmpeg, makeSampleClip } from '../support/media.ts';

/** The worker that rides out a short outage, and the one whose retries run out soon. */
const PATIENT = { pool: 'amd', retrySeconds: 30 };
const HASTY = { pool: 'arm', retrySeconds: 5 };
const FRAMES = 100;

let fleet: TestFleet;
let patient: WorkerProcess;
let hasty: WorkerProcess;

beforeAll(async () => {
  fleet = await startFleet();
  const clip = join(fleet.dir, 'clip.mp4');
  await makeSampleClip(clip, { seconds: FRAMES / 25, size: '1280x720' });
  await fleet.put('inputs/clip.mp4', clip);
  // Noise keeps MPEG-2 from compressing: about 4 MB a segment, so a folder takes a while to upload.
  const noisy = join(fleet.dir, 'noisy.ts');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-vf', 'noise=alls=60:allf=t+u'],
    ...['-t', '6', '-c:v', 'mpeg2video', '-q:v', '2', '-g', '5', noisy],
  ]);
  await fleet.put('inputs/noisy.ts', noisy);
  const start = (w: typeof PATIENT) =>
    fleet.startWorker(w.pool, {
      FFLEET_UPLOAD_RETRY_SECONDS: String(w.retrySeconds),
      S3_PART_SIZE_MB: '5',
    });
  [patient, hasty] = await Promise.all([start(PATIENT), start(HASTY)]);
}, 180_000);

afterAll(async () => {
  await fleet?.stack.startS3();
  await fleet?.stop();
});

/** A raw-video output of about 138 MB: 28 parts of 5 MiB, uploaded 4 at a time. */
function bigFileJob(name: string, pool: string) {
  return {
    name,
    compute: pool,
    attempts: 1,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/clip.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.nut`, options: '-c:v rawvideo -pix_fmt yuv420p -an' }],
  };
}

/** An HLS folder: about 30 segments of 4 MB by stream copy, a media and a master playlist. */
function folderJob(name: string, pool: string) {
  return {
    name,
    compute: pool,
    attempts: 1,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/noisy.ts` }],
    outputs: [
      {
        url: `s3://${fleet.bucket}/out/${name}/`,
        options: '-c copy -f hls -hls_time 0.2 -hls_playlist_type vod -master_pl_name master.m3u8',
      },
    ],
  };
}

async function finishedJob(id: string, worker: WorkerProcess): Promise<JobView> {
  return fleet.waitFor<JobView>(id, finished, 120_000).catch((error) => {
    throw new Error(`${error.message}\nworker: ${worker.output().slice(-3000)}`);
  });
}

/** Where the S3 server keeps an object's bytes: what a reader of the bucket gets. */
const stored = (key: string) => join(fleet.stack.dataDir, 's3', fleet.bucket, key);

async function multipartUploads(prefix: string): Promise<string[]> {
  const page = await fleet.s3.send(new ListMultipartUploadsCommand({ Bucket: fleet.bucket, Prefix: prefix }));
  return (page.Uploads ?? []).map((u) => u.Key!);
}

async function objects(prefix: string): Promise<string[]> {
  const page = await fleet.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

/** Files the S3 server holds under a folder (complete objects), read from its disk. */
async function storedFiles(prefix: string): Promise<string[]> {
  const entries = await readdir(stored(prefix), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Submits a job named `base-<round>` and kills the S3 server as soon as `started` sees its
 * upload under way. On a busy machine the whole upload can land before the kill: S3 is then
 * brought back, that job left to finish, and another one tried (three at most).
 */
async function killS3During(
  base: string,
  submitJob: (name: string) => Promise<string>,
  started: (name: string) => Promise<boolean>,
  done: (name: string) => Promise<boolean>,
): Promise<{ id: string; name: string }> {
  for (let round = 0; round < 3; round++) {
    const name = `${base}-${round}`;
    const id = await submitJob(name);
    const deadline = Date.now() + 120_000;
    while (!(await started(name).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`job ${id} never started its upload`);
      await sleep(5);
    }
    await fleet.stack.stopS3();
    if (!(await done(name))) return { id, name };
    await fleet.stack.startS3();
    await fleet.waitFor(id, finished, 120_000);
  }
  throw new Error(`every ${base} job finished uploading before S3 went away: make its output bigger`);
}

async function videoFrames(file: string): Promise<number> {
  const out = await ffmpegOutput('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets,width,height', '-of', 'json', file],
  ]);
  const [video] = (JSON.parse(out) as { streams: { nb_read_packets: string; width: number }[] }).streams;
  expect(video!.width).toBe(1280);
  return Number(video!.nb_read_packets);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(200);
  }
}

describe('S3 away during an upload', { timeout: 240_000 }, () => {
  it('killed mid-upload and back after 3 s: the job succeeds on its one attempt, the object whole', async () => {
    const { id, name } = await killS3During(
      'big-back',
      (name) => fleet.submit(bigFileJob(name, PATIENT.pool)),
      async (name) => (await multipartUploads(`out/${name}.nut`)).length > 0,
      async (name) => Boolean(await stat(stored(`out/${name}.nut`)).catch(() => undefined)),
    );
    const key = `out/${name}.nut`;
    await sleep(3000);
    await fleet.stack.startS3();

    const job = await finishedJob(id, patient);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.attempts.made).toBe(1);
    const bytes = (await stat(stored(key))).size;
    expect(bytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(job.outputs?.[0]?.bytes).toBe(bytes);
    expect(await videoFrames(stored(key))).toBe(FRAMES);
    expect(await multipartUploads('out/')).toEqual([]);
    expect(patient.child.exitCode).toBeNull();
  });

  it('away past the retry time: the job fails as storage_unavailable, nothing left at its URL', async () => {
    const { id, name } = await killS3During(
      'big-gone',
      (name) => fleet.submit(bigFileJob(name, HASTY.pool)),
      async (name) => (await multipartUploads(`out/${name}.nut`)).length > 0,
      async (name) => Boolean(await stat(stored(`out/${name}.nut`)).catch(() => undefined)),
    );
    const key = `out/${name}.nut`;
    // Kept away until the job has failed for good.
    const job = await finishedJob(id, hasty);
    await fleet.stack.startS3();

    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('storage_unavailable');
    expect(job.error?.message).toContain(`s3://${fleet.bucket}/${key}`);
    expect(await fleet.exists(key)).toBe(false);
    // The abort that failed while S3 was away is done once it is back.
    await eventually(async () => (await multipartUploads('out/')).length === 0, 'aborting the upload');
    expect(await fleet.exists(key)).toBe(false);
    expect(hasty.child.exitCode).toBeNull();
  });

  it('a folder output publishes its playlists last; one that fails for good leaves no object', async () => {
    const ok = await finishedJob(await fleet.submit(folderJob('hls-ok', HASTY.pool)), hasty);
    expect(ok.state, JSON.stringify(ok.error)).toBe('succeeded');
    const written = await Promise.all(
      (await storedFiles('out/hls-ok/')).map(async (file) => ({
        name: file.split('/').at(-1)!,
        at: (await stat(file, { bigint: true })).mtimeNs,
      })),
    );
    const segments = written.filter((f) => f.name.endsWith('.ts'));
    const at = (name: string) => written.find((f) => f.name === name)!.at;
    expect(segments.length).toBeGreaterThan(20);
    // File times tick in milliseconds (the kernel's coarse clock): a later time is a later write.
    const index = at('index.m3u8');
    expect(segments.filter((f) => f.at > index).map((f) => f.name)).toEqual([]);
    expect(segments.filter((f) => f.at > at('master.m3u8')).map((f) => f.name)).toEqual([]);

    const logged = hasty.output().length;
    const { id, name } = await killS3During(
      'hls-gone',
      (name) => fleet.submit(folderJob(name, HASTY.pool)),
      async (name) => (await storedFiles(`out/${name}/`)).length > 0,
      async (name) => (await storedFiles(`out/${name}/`)).length > segments.length,
    );
    const prefix = `out/${name}/`;
    const before = await storedFiles(prefix);
    expect(before.length).toBeGreaterThan(0);
    expect(before.some((f) => f.endsWith('.m3u8'))).toBe(false);
    // S3 comes back while the worker is still removing what this job's failed upload wrote (a job
    // of an earlier round, which finished uploading too soon, may have logged the same words).
    await eventually(
      async () =>
        hasty
          .output()
          .slice(logged)
          .split('\n')
          .some((line) => line.includes('upload failed: removing the objects it wrote') && line.includes(id)),
      'the failed upload',
      120_000,
    );
    await fleet.stack.startS3();

    const job = await finishedJob(id, hasty);
    expect(job.state).toBe('failed');
    expect(job.error?.code).toBe('storage_unavailable');
    expect(await objects(prefix)).toEqual([]);
    expect(await storedFiles(prefix)).toEqual([]);
    expect(await multipartUploads(prefix)).toEqual([]);
  });
});
