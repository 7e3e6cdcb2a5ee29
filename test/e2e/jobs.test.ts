import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/stack.ts';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { makeSampleClip, probe } from '../support/media.ts';

type Job = JobView;

let fleet: TestFleet;
let bucket: string;

beforeAll(async () => {
  fleet = await startFleet();
  bucket = fleet.bucket;
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 4, size: '1920x1080' });
  await fleet.put('inputs/sample.mp4', clip);
  const corrupt = join(fleet.dir, 'corrupt.mp4');
  await writeFile(corrupt, Buffer.from('this is not a video, just bytes pretending to be one'.repeat(100)));
  await fleet.put('inputs/corrupt.mp4', corrupt);
  await fleet.startWorker('intel');
});

afterAll(async () => {
  await fleet?.stop();
});

async function submit(body: Record<string, unknown>): Promise<string> {
  const { status, body: accepted } = await fleet.api<{ id: string; state: string; pool: string }>(
    'POST',
    '/v1/jobs',
    body,
  );
  expect(status, JSON.stringify(accepted)).toBe(202);
  expect(accepted.state).toBe('queued');
  return accepted.id;
}

describe('the demo job kinds run end to end', () => {
  it('transcodes to 720p H.264 and reports outputs, timings and progress', async () => {
    const id = await submit({
      name: 'transcode-720p',
      compute: 'intel',
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
      outputs: [
        {
          url: `s3://${bucket}/out/720p.mp4`,
          options: '-vf scale=-2:720 -c:v libx264 -preset ultrafast -c:a aac',
        },
      ],
    });
    const job = await fleet.waitFor<Job>(id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pool).toBe('intel');
    expect(job.progress).toEqual({ stage: 'done', percent: 100 });
    expect(job.outputs![0]!.url).toBe(`s3://${bucket}/out/720p.mp4`);
    const local = join(fleet.dir, '720p.mp4');
    const bytes = await fleet.get('out/720p.mp4');
    expect(job.outputs![0]!.bytes).toBe(bytes.length);
    await writeFile(local, bytes);
    const info = await probe(local);
    expect(info.streams.find((s) => s.codec_type === 'video')).toMatchObject({
      codec_name: 'h264',
      width: 1280,
      height: 720,
    });
    expect(info.duration).toBeGreaterThan(3.5);
    expect(job.timings!.ffmpeg).toBeGreaterThan(0);
    expect(job.timings!.total).toBeGreaterThanOrEqual(job.timings!.ffmpeg);
  });

  it('clips with stream copy', async () => {
    const id = await submit({
      name: 'clip-video',
      compute: 'intel',
      globalOptions: '-y',
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4`, options: '-ss 1' }],
      outputs: [{ url: `s3://${bucket}/out/clip.mp4`, options: '-t 2 -c:v copy -c:a copy' }],
    });
    const job = await fleet.waitFor<Job>(id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const local = join(fleet.dir, 'clip.mp4');
    await writeFile(local, await fleet.get('out/clip.mp4'));
    const info = await probe(local);
    expect(info.duration).toBeGreaterThan(1.5);
    expect(info.duration).toBeLessThan(3.1);
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('uploads a whole HLS folder: playlist and every segment, never the input', async () => {
    const id = await submit({
      name: 'hls',
      compute: 'intel',
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
      outputs: [
        {
          url: `s3://${bucket}/out/hls/`,
          options:
            '-vf scale=-2:360 -c:v libx264 -preset ultrafast -g 25 -c:a aac -f hls -hls_time 1 -hls_playlist_type vod',
        },
      ],
    });
    const job = await fleet.waitFor<Job>(id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const files = job.outputs![0]!.files!.map((f) => f.url);
    expect(files).toContain(`s3://${bucket}/out/hls/index.m3u8`);
    const segments = files.filter((f) => f.endsWith('.ts'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(files.every((f) => f.startsWith(`s3://${bucket}/out/hls/`))).toBe(true);
    const playlist = (await fleet.get('out/hls/index.m3u8')).toString();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    for (const segment of segments) {
      expect(playlist).toContain(segment.split('/').pop());
      expect(await fleet.exists(segment.replace(`s3://${bucket}/`, ''))).toBe(true);
    }
    expect(files.some((f) => f.includes('sample.mp4'))).toBe(false);
  });
});

describe('the AWS sample compatibility route', () => {
  it('accepts the sample body and runs it like a native job', async () => {
    const { status, body } = await fleet.api<{ id: string; pool: string }>('POST', '/batch/execute/intel', {
      name: 'clip-video',
      input_url: `s3://${bucket}/inputs/sample.mp4`,
      output_url: `s3://${bucket}/out/compat.mp4`,
      output_file_options: '-ss 00:00:01 -t 00:00:02 -c:v copy -c:a copy',
      instance_type: 'c6i.2xlarge',
    });
    expect(status).toBe(202);
    expect(body.pool).toBe('intel');
    const job = await fleet.waitFor<Job & { spec: { instanceType: string } }>(body.id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.spec.instanceType).toBe('c6i.2xlarge');
    expect(await fleet.exists('out/compat.mp4')).toBe(true);
  });
});

describe('failures a user can cause are clear and not retried in vain', () => {
  it('a missing input fails at once with input_missing', async () => {
    const id = await submit({
      name: 'missing',
      compute: 'intel',
      attempts: 3,
      inputs: [{ url: `s3://${bucket}/inputs/does-not-exist.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/never.mp4` }],
    });
    const job = await fleet.waitFor<Job>(id, finished);
    expect(job.state).toBe('failed');
    expect(job.error!.code).toBe('input_missing');
    expect(job.error!.message).toContain('inputs/does-not-exist.mp4');
    expect(job.attempts.made).toBe(1);
    expect(await fleet.exists('out/never.mp4')).toBe(false);
  });

  it("a corrupt input fails without retries and carries ffmpeg's last stderr lines", async () => {
    const id = await submit({
      name: 'corrupt',
      compute: 'intel',
      attempts: 3,
      inputs: [{ url: `s3://${bucket}/inputs/corrupt.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/corrupt-out.mp4`, options: '-c:v libx264' }],
    });
    const job = await fleet.waitFor<Job>(id, finished);
    expect(job.state).toBe('failed');
    expect(job.error!.code).toBe('ffmpeg_failed');
    expect(job.attempts.made).toBe(1);
    expect(job.error!.stderr!.join('\n')).toMatch(/Invalid data found|moov atom not found/);
    expect(await fleet.exists('out/corrupt-out.mp4')).toBe(false);
  });

  it('refuses bad input before it reaches a queue', async () => {
    const bad = await fleet.api<{ error: string; message: string }>('POST', '/v1/jobs', '{"name": "x", ');
    expect(bad.status).toBe(400);
    const unknownPool = await fleet.api<{ error: string; details: { available: string[] } }>(
      'POST',
      '/v1/jobs',
      {
        name: 'x',
        compute: 'sparc',
        inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
        outputs: [{ url: `s3://${bucket}/out/x.mp4` }],
      },
    );
    expect(unknownPool.status).toBe(400);
    expect(unknownPool.body.error).toBe('unknown_compute');
    expect(unknownPool.body.details.available).toEqual(['intel', 'amd', 'arm', 'nvidia', 'xilinx']);
    const { body: pools } = await fleet.api<{ pools: { depth: { waiting: number; prioritized: number } }[] }>(
      'GET',
      '/v1/pools',
    );
    for (const pool of pools.pools) expect(pool.depth.waiting + pool.depth.prioritized).toBe(0);
  });
});

describe('transient failures are retried; the worker checks every job itself', () => {
  it('retries with backoff while S3 is unreachable, then fails as storage_unavailable', async () => {
    const deadS3 = `http://127.0.0.1:${await freePort()}`;
    const worker = await fleet.startWorker('arm', { S3_ENDPOINT: deadS3, FFLEET_UPLOAD_RETRY_SECONDS: '1' });
    const id = await submit({
      name: 's3-down',
      compute: 'arm',
      attempts: 2,
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/s3-down.mp4` }],
    });
    const job = await fleet.waitFor<Job>(id, finished, 60_000);
    expect(job.state).toBe('failed');
    expect(job.error!.code).toBe('storage_unavailable');
    expect(job.error!.message).toContain(`s3://${bucket}/inputs/sample.mp4`);
    expect(job.attempts).toEqual({ made: 2, max: 2 });
    worker.child.kill('SIGKILL');
  });

  it('fails a hostile job written straight into the queue, before anything runs', async () => {
    const queue = new Queue('ffleet-intel', {
      connection: fleet.redis(),
      prefix: fleet.env.FFLEET_QUEUE_PREFIX,
    });
    await queue.add(
      'sneaky',
      {
        pool: 'intel',
        submittedAt: Date.now(),
        spec: {
          name: 'sneaky',
          compute: 'intel',
          inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
          outputs: [{ url: `s3://${bucket}/out/sneaky.mp4`, options: '-i /etc/passwd -map 1' }],
        },
      },
      { jobId: 'sneaky-1', attempts: 3 },
    );
    await queue.close();
    const job = await fleet.waitFor<Job>('sneaky-1', finished);
    expect(job.state).toBe('failed');
    expect(job.error!.code).toBe('unsafe_job');
    expect(job.error!.message).toContain('-i');
    expect(job.attempts.made).toBe(1);
    expect(await fleet.exists('out/sneaky.mp4')).toBe(false);
  });
});
