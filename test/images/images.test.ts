/**
 * `make test-images`: builds the gateway and CPU worker images from their Dockerfiles with Debian's podman (no
 * registry: the base images are made locally), runs both containers the way the chart runs them against a local
 * Redis and S3 server, and runs a real job through them. Slow (a first run compiles FFmpeg): not part of
 * `make test`. Everything it builds lives in a storage directory of its own, removed at the end.
 * FFLEET_KEEP_IMAGES=1 keeps it; with FFLEET_IMAGES_DIR naming it (and FFLEET_SOURCES_PORT fixing the port the
 * sources are served on), a next run reuses its base images and build cache, for working on the Dockerfiles.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isFinishedState } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type Stack,
  stackS3Client,
  startStack,
  stopChild,
  TOOL_DIR,
  waitFor,
} from '../../scripts/lib/stack.ts';
import { find, type K8sObject, parseManifests, renderChart, repoRoot } from '../chart/support/chart.ts';
import { parseDockerfile } from '../support/dockerfile.ts';
import {
  BT2020_DISPLAY_4000,
  firstFrameHdr10Of,
  makeHdrClip,
  makeSampleClip,
  makeSdrMaster,
  meanLuma,
  packets,
  probe,
  withHdr10Boxes,
} from '../support/media.ts';
import { releaseOfImage } from '../support/package-index.ts';
import { fullName, makeDebianBase, makeNodeBase } from './support/bases.ts';
import { podmanRunArgs } from './support/pod.ts';
import { createPodman, type Podman } from './support/podman.ts';
import { ffmpegFromDebian, serveFiles, sha256, vmafSource } from './support/sources.ts';

const run = promisify(execFile);
const IMAGES = ['gateway', 'worker-cpu'] as const;
const TOKEN = 'images-test-token-0001';
const log = join(repoRoot, '.ffleet', 'test-images.log');
const timings: [string, number][] = [];

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  const seconds = Math.round((Date.now() - started) / 1000);
  timings.push([label, seconds]);
  console.log(`timing: ${label}: ${seconds} s`);
  return result;
}

const dockerfiles = Object.fromEntries(
  await Promise.all(
    IMAGES.map(async (name) => [
      name,
      parseDockerfile(await readFile(join(repoRoot, 'images', name, 'Dockerfile'), 'utf8')),
    ]),
  ),
) as Record<(typeof IMAGES)[number], ReturnType<typeof parseDockerfile>>;

let podman: Podman;
let stack: Stack | undefined;
let workDir: string;
let gatewayUrl: string;
let workerUrl: string;
const image = (name: string) => `localhost/ffleet/${name}:images-test`;

beforeAll(async () => {
  await mkdir(join(repoRoot, '.ffleet'), { recursive: true });
  await writeFile(log, '');
  workDir = process.env.FFLEET_IMAGES_DIR ?? (await mkdtemp('/var/tmp/ffleet-images-'));
  await mkdir(workDir, { recursive: true });
  podman = await createPodman(join(workDir, 'podman'));
  const exists = (name: string) =>
    podman.exec(['image', 'exists', fullName(name)]).then(
      () => true,
      () => false,
    );

  // Base images, named as the Dockerfiles name them.
  const bases = [
    ...new Set(
      Object.values(dockerfiles).flatMap((d) =>
        d.stages.filter((s) => !d.stages.some((o) => o.name === s.from)).map((s) => s.from),
      ),
    ),
  ];
  await timed('base images (mmdebstrap + Node)', async () => {
    // One Debian root file system per release: the Node base goes on top of the Debian base of its release.
    const debianOf = new Map<string, string>();
    for (const base of bases.filter((b) => b.startsWith('debian:'))) {
      const suite = releaseOfImage(base)!.suite;
      if (!(await exists(base))) await makeDebianBase(podman, suite, base, log);
      debianOf.set(suite, base);
    }
    for (const base of bases.filter((b) => b.startsWith('node:'))) {
      if (await exists(base)) continue;
      const suite = releaseOfImage(base)!.suite;
      let debian = debianOf.get(suite);
      if (!debian) {
        debian = `ffleet-images-test/debian:${suite}`;
        await makeDebianBase(podman, suite, debian, log);
        debianOf.set(suite, debian);
      }
      await makeNodeBase(podman, debian, /^node:([^-]+)-/.exec(base)![1]!, base, log);
    }
  });

  // Sources: FFmpeg's signed release tarball as Debian ships it, libvmaf's release tarball; served on loopback.
  const cpu = dockerfiles['worker-cpu'];
  const ffmpeg = await ffmpegFromDebian();
  const ffmpegSha = await sha256(ffmpeg.file);
  if (ffmpeg.version !== cpu.args.FFMPEG_VERSION || ffmpegSha !== cpu.args.FFMPEG_SHA256) {
    throw new Error(
      `Debian's FFmpeg source is ${ffmpeg.version} (sha256 ${ffmpegSha}); images/worker-cpu/Dockerfile pins ` +
        `${cpu.args.FFMPEG_VERSION} (${cpu.args.FFMPEG_SHA256}): update FFMPEG_VERSION and FFMPEG_SHA256`,
    );
  }
  const vmaf = await vmafSource(cpu.expand(cpu.args.VMAF_URL!));
  const vmafSha = await sha256(vmaf);
  const buildArgs: string[] = [];
  if (vmafSha !== cpu.args.VMAF_SHA256) {
    // A local copy that is not byte for byte the release tarball (e.g. packed from the release tag) must be
    // accepted explicitly, with its own checksum.
    if (process.env.FFLEET_VMAF_SHA256 !== vmafSha) {
      throw new Error(
        `${vmaf} has sha256 ${vmafSha}, not the pinned ${cpu.args.VMAF_SHA256}; set FFLEET_VMAF_SHA256=${vmafSha} to build with it`,
      );
    }
    console.log(`libvmaf from ${vmaf} (sha256 ${vmafSha}), not the pinned release tarball`);
    buildArgs.push(`--build-arg=VMAF_SHA256=${vmafSha}`);
  }
  const server = await serveFiles([ffmpeg.file, vmaf]);
  try {
    buildArgs.push(
      `--build-arg=FFMPEG_URL=${server.url(ffmpeg.file)}`,
      `--build-arg=VMAF_URL=${server.url(vmaf)}`,
    );
    for (const name of IMAGES) {
      await timed(`build ${name}`, () =>
        podman.logged(
          [
            'build',
            // Docker's image format keeps SHELL (pipefail); the OCI format drops it.
            '--format=docker',
            '--pull=never',
            // The build reaches the loopback server and Debian's and npm's registries through the host network.
            '--network=host',
            `--ignorefile=images/${name}/Dockerfile.dockerignore`,
            `--file=images/${name}/Dockerfile`,
            `--tag=${image(name)}`,
            ...(name === 'worker-cpu' ? buildArgs : []),
            '.',
          ],
          log,
          { cwd: repoRoot },
        ),
      );
    }
  } finally {
    await server.close();
  }

  // The containers, as the chart runs them, against a local Redis and S3 server on loopback.
  stack = await startStack();
  const objects = parseManifests(
    await renderChart({ gateway: { auth: { tokens: [TOKEN] } }, fleet: { allowedBuckets: [stack.bucket] } }),
  );
  const configMap = find(objects, 'ConfigMap', 'ffleet-pools');
  const podSpec = (kind: string, name: string) =>
    find(objects, kind, name).spec.template.spec as K8sObject['spec'];
  const shared = {
    REDIS_URL: stack.redisUrl,
    S3_ENDPOINT: stack.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: stack.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.secretAccessKey,
    // No collector here.
    OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  };
  const gatewayPort = await freePort();
  const workerPort = await freePort();
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  workerUrl = `http://127.0.0.1:${workerPort}`;
  await timed('start containers', async () => {
    for (const [name, spec, env] of [
      [
        'ffleet-images-gateway',
        podSpec('Deployment', 'ffleet-gateway'),
        // Host networking: listen on loopback only, on a free port.
        { ...shared, HOST: '127.0.0.1', PORT: String(gatewayPort), FFLEET_API_TOKENS: TOKEN },
      ],
      [
        'ffleet-images-worker',
        podSpec('Deployment', 'ffleet-worker-intel'),
        { ...shared, FFLEET_WORKER_HOST: '127.0.0.1', FFLEET_WORKER_PORT: String(workerPort) },
      ],
    ] as const) {
      const args = await podmanRunArgs(spec, {
        name,
        image: image(name.endsWith('gateway') ? 'gateway' : 'worker-cpu'),
        configMaps: { 'ffleet-pools': configMap.data },
        env,
        workDir: join(workDir, name),
      });
      await podman.exec(args);
    }
    await waitForOk(`${gatewayUrl}/readyz`, 'ffleet-images-gateway');
    await waitForOk(`${workerUrl}/readyz`, 'ffleet-images-worker');
  });
}, 3 * 3_600_000);

async function waitForOk(url: string, container: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    const state = (await podman.exec(['inspect', '--format', '{{.State.Status}}', container])).trim();
    if (state !== 'running') break;
    await sleep(500);
  }
  throw new Error(
    `${container} never answered ${url}:\n${await podman.exec(['logs', container]).catch(String)}`,
  );
}

afterAll(async () => {
  if (podman) {
    for (const name of ['ffleet-images-gateway', 'ffleet-images-worker']) {
      await podman
        .exec(['logs', name])
        .then((text) => writeFile(log, text, { flag: 'a' }))
        .catch(() => {});
    }
    await podman
      .exec(['rm', '--force', '--time=5', 'ffleet-images-gateway', 'ffleet-images-worker'])
      .catch(() => {});
  }
  await stack?.stop();
  if (podman && process.env.FFLEET_KEEP_IMAGES !== '1')
    await timed('clean up images and layers', () => podman.reset());
  if (workDir && process.env.FFLEET_KEEP_IMAGES !== '1') await rm(workDir, { recursive: true, force: true });
  else if (workDir) console.log(`kept ${workDir} (FFLEET_IMAGES_DIR=${workDir} reuses it)`);
  console.log(`timings: ${timings.map(([label, s]) => `${label} ${s} s`).join(', ')}`);
}, 600_000);

const apiHeaders = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

/** Submits a job to the gateway container and follows it until it finishes (3 min at most). */
async function runJob<T extends { state: string }>(body: unknown): Promise<{ pool: string; job: T }> {
  const submitted = await fetch(`${gatewayUrl}/v1/jobs`, {
    method: 'POST',
    headers: apiHeaders,
    body: JSON.stringify(body),
  });
  const accepted = (await submitted.json()) as { id: string; pool: string };
  expect(submitted.status, JSON.stringify(accepted)).toBe(202);
  let job: T;
  const deadline = Date.now() + 180_000;
  do {
    await sleep(500);
    job = (await (await fetch(`${gatewayUrl}/v1/jobs/${accepted.id}`, { headers: apiHeaders })).json()) as T;
  } while (!isFinishedState(job.state) && Date.now() < deadline);
  return { pool: accepted.pool, job };
}

/** Puts a local file into the stack's bucket. */
async function upload(s3: S3Client, file: string, key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: stack!.bucket, Key: key, Body: await readFile(file) }));
}

/** An object of the stack's bucket, written to a local file. */
async function download(s3: S3Client, key: string, file: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: stack!.bucket, Key: key }));
  await writeFile(file, await object.Body!.transformToByteArray());
  return file;
}

describe('images built from their Dockerfiles and run as the chart runs them', () => {
  it('builds a CPU worker whose FFmpeg has the encoders its pools advertise, libvmaf, zscale and tonemap', async () => {
    const ffmpeg = (what: string) =>
      podman.exec([
        'run',
        '--rm',
        '--read-only',
        '--entrypoint=ffmpeg',
        image('worker-cpu'),
        '-hide_banner',
        what,
      ]);
    const encoders = await ffmpeg('-encoders');
    for (const encoder of [
      'libx264',
      'libx265',
      'libsvtav1',
      'libvpx-vp9',
      'aac',
      'libopus',
      'libwebp',
      'libwebp_anim',
    ])
      expect(encoders, encoder).toMatch(new RegExp(` ${encoder} `));
    const filters = await ffmpeg('-filters');
    // libvmaf for quality; zscale and tonemap for HDR sources' ladders and previews.
    for (const filter of ['libvmaf', 'zscale', 'tonemap'])
      expect(filters, filter).toMatch(new RegExp(` ${filter} `));
  });

  it('runs them as user 10001 with a read-only root, no capabilities and no privilege escalation', async () => {
    for (const name of ['ffleet-images-gateway', 'ffleet-images-worker']) {
      const exec = (...command: string[]) => podman.exec(['exec', name, ...command]);
      expect((await exec('id', '-u')).trim(), name).toBe('10001');
      expect((await exec('id', '-G')).trim().split(' '), name).toContain('10001');
      const status = await exec('cat', '/proc/1/status');
      expect(status, name).toMatch(/^CapEff:\s+0{16}$/m);
      expect(status, name).toMatch(/^NoNewPrivs:\s+1$/m);
      await expect(exec('touch', '/app/written'), name).rejects.toThrow(/Read-only file system/);
      await expect(exec('touch', '/var/tmp/written'), name).rejects.toThrow(/Read-only file system/);
      // Only the chart's emptyDirs are writable.
      await exec('touch', '/tmp/written');
    }
    await podman.exec(['exec', 'ffleet-images-worker', 'touch', '/scratch/written']);
  });

  it('runs a real job: submitted to the gateway container, encoded by the worker container, measured with VMAF', async () => {
    const s3 = stackS3Client(stack!);
    const clip = join(workDir, 'sample.mp4');
    await makeSampleClip(clip, { seconds: 2, size: '640x360' });
    await upload(s3, clip, 'inputs/sample.mp4');
    const { pool, job } = await runJob<{
      state: string;
      quality: { status: string; vmaf?: number; psnr?: number; frames?: number } | null;
    }>({
      name: 'images-test',
      compute: 'intel',
      // Every frame measured (the default samples some), so the count is the clip's.
      quality: { mode: 'full' },
      inputs: [{ url: `s3://${stack!.bucket}/inputs/sample.mp4` }],
      outputs: [
        {
          url: `s3://${stack!.bucket}/out/sample-180p.mp4`,
          options: '-vf scale=-2:180 -c:v libx264 -preset veryfast -c:a aac',
        },
      ],
    });
    expect(pool).toBe('intel');
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.quality).toMatchObject({ status: 'measured', frames: 50 });
    expect(job.quality!.vmaf).toBeGreaterThan(50);
    expect(job.quality!.psnr).toBeGreaterThan(25);

    const output = await download(s3, 'out/sample-180p.mp4', join(workDir, 'out.mp4'));
    s3.destroy();
    const media = await probe(output);
    expect(media.duration).toBeGreaterThan(1.9);
    expect(media.duration).toBeLessThan(2.2);
    expect(media.streams.find((s) => s.codec_type === 'video')).toMatchObject({
      codec_name: 'h264',
      width: 320,
      height: 180,
    });
    expect(media.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-count_frames'],
      ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', output],
    ]);
    expect(Number(stdout.trim())).toBe(50);
  });

  /**
   * The SDR master, and a PQ clip made from it as BT.2408 places SDR in HDR (10-bit HEVC), its
   * HDR10 metadata in the stream saying what is true of it: no light above SDR white (203 cd/m²).
   * Made once and uploaded as inputs/pq.mp4.
   */
  let hdrClips: Promise<{ master: string; pq: string }> | undefined;
  const hdrClipsOnce = () =>
    (hdrClips ??= (async () => {
      const master = join(workDir, 'master.mkv');
      const pq = join(workDir, 'pq.mp4');
      await makeSdrMaster(master, 2);
      await makeHdrClip(master, pq, 'smpte2084', 'hdr10=1:max-cll=203,100');
      const s3 = stackS3Client(stack!);
      await upload(s3, pq, 'inputs/pq.mp4');
      s3.destroy();
      return { master, pq };
    })());

  it("tone-maps an HDR source with the container's FFmpeg: the poster of a PQ clip is close to its SDR master", async () => {
    const { master, pq } = await hdrClipsOnce();
    const s3 = stackS3Client(stack!);
    const { job } = await runJob<{
      state: string;
      pipeline?: { toneMappedFrom?: string; toneMapPeakNits?: number };
    }>({
      name: 'images-hdr-poster',
      compute: 'intel',
      inputs: [{ url: `s3://${stack!.bucket}/inputs/pq.mp4` }],
      outputs: [{ url: `s3://${stack!.bucket}/out/pq-previews/` }],
      previews: { poster: { time: 1 }, sprite: false, animations: false },
    });
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    // The container's ffprobe read the peak from the first frame's SEI.
    expect(job.pipeline).toMatchObject({ toneMappedFrom: 'pq', toneMapPeakNits: 203 });

    const poster = await download(s3, 'out/pq-previews/poster.jpg', join(workDir, 'pq-poster.jpg'));
    s3.destroy();
    // The master's frame at 1 s and the PQ signal's there as it is, in 8 bits, as pictures.
    const frameAt1s = async (source: string, name: string) => {
      const file = join(workDir, name);
      await run('ffmpeg', [
        ...['-hide_banner', '-nostdin', '-y', '-ss', '1', '-i', source],
        ...['-vf', 'format=yuv420p', '-frames:v', '1', file],
      ]);
      return file;
    };
    const psnrOf = async (reference: string, distorted: string) => {
      const { stderr } = await run('ffmpeg', [
        ...['-hide_banner', '-nostdin', '-i', distorted, '-i', reference, '-lavfi'],
        '[0:v]format=yuv444p[a];[1:v]format=yuv444p[b];[a][b]psnr',
        ...['-f', 'null', '-'],
      ]);
      return Number(/PSNR .*average:([\d.]+)/.exec(stderr)?.[1]);
    };
    const sdr = await frameAt1s(master, 'master-1s.png');
    const toneMapped = await psnrOf(sdr, poster);
    const asItIs = await psnrOf(sdr, await frameAt1s(pq, 'pq-1s.png'));
    expect(toneMapped).toBeGreaterThan(asItIs + 5);
    // As bright as the master: rolled off from the clip's own peak, its whites are the master's.
    expect(Math.abs((await meanLuma(poster)) - (await meanLuma(sdr)))).toBeLessThan(2.5);
  });

  it("keeps an HDR source's ladder HDR with the container's encoders: 10-bit HEVC, and AV1 beside SDR H.264, with its HDR10 metadata", async () => {
    await hdrClipsOnce();
    const s3 = stackS3Client(stack!);
    /** A rung's init segment and first media segment together: a file ffprobe reads. */
    const rungFile = async (out: string, rung: string, name: string) => {
      const parts = [];
      for (const segment of ['init.mp4', 'seg-00000.m4s'])
        parts.push(
          await readFile(
            await download(s3, `${out}hls/${rung}/${segment}`, join(workDir, `${name}-${segment}`)),
          ),
        );
      const file = join(workDir, `${name}.mp4`);
      await writeFile(file, Buffer.concat(parts));
      return file;
    };
    const videoOf = async (file: string) => {
      const { stdout } = await run('ffprobe', [
        ...['-v', 'error', '-select_streams', 'v:0', '-show_entries'],
        ...['stream=codec_name,pix_fmt,color_transfer,color_primaries', '-of', 'json', file],
      ]);
      return JSON.parse(stdout).streams[0];
    };
    // HEVC keeps the rungs HDR; AV1 makes them both ways, the SDR twin in the container's x264.
    for (const { codec, hdr } of [
      { codec: 'hevc', hdr: 'keep' },
      { codec: 'av1', hdr: 'both' },
    ] as const) {
      const out = `out/pq-ladder-${codec}/`;
      const { job } = await runJob<{ state: string; pipeline?: { hdr?: string; toneMappedFrom?: string } }>({
        name: `images-hdr-ladder-${codec}`,
        compute: 'intel',
        inputs: [{ url: `s3://${stack!.bucket}/inputs/pq.mp4` }],
        outputs: [{ url: `s3://${stack!.bucket}/${out}` }],
        ladder: {
          codec,
          hdr,
          preset: codec === 'av1' ? '12' : 'ultrafast',
          rungs: [{ height: 180, bitrateKbps: 400 }],
          dash: false,
        },
      });
      expect(job.state, JSON.stringify(job)).toBe('succeeded');
      expect(job.pipeline).toMatchObject({ hdr: 'pq' });
      const master = await readFile(
        await download(s3, `${out}master.m3u8`, join(workDir, `${codec}-master.m3u8`)),
        'utf8',
      );
      const variants = master.split('\n').filter((line) => line.startsWith('#EXT-X-STREAM-INF'));
      expect(variants, codec).toHaveLength(hdr === 'both' ? 2 : 1);
      expect(
        variants.filter((line) => line.includes('VIDEO-RANGE=PQ')),
        codec,
      ).toHaveLength(1);
      const hdrRung = await rungFile(out, hdr === 'both' ? '180p-400k-hdr' : '180p-400k', `${codec}-rung`);
      expect(await videoOf(hdrRung), codec).toMatchObject({
        pix_fmt: 'yuv420p10le',
        color_transfer: 'smpte2084',
        color_primaries: 'bt2020',
      });
      const metadata = await firstFrameHdr10Of(hdrRung);
      expect(metadata, codec).toEqual({ maxCll: 203, maxFall: 100 });
      if (hdr === 'both') {
        expect(job.pipeline).toMatchObject({ toneMappedFrom: 'pq' });
        const sdrRung = await rungFile(out, '180p-400k', `${codec}-sdr-rung`);
        expect(await videoOf(sdrRung)).toMatchObject({
          codec_name: 'h264',
          pix_fmt: 'yuv420p',
          color_transfer: 'bt709',
          color_primaries: 'bt709',
        });
      }
    }
    s3.destroy();
  });

  it("carries HDR10 metadata that only the source's container holds through a chunked encode with the container's libx265", async () => {
    // Two 2 s chunks of a 4 s PQ clip whose stream says MaxCLL 203 and no mastering display;
    // its container adds the display (MP4 mdcv box) and the same light levels (clli).
    const master = join(workDir, 'master-4s.mkv');
    const plain = join(workDir, 'pq-keyframes.mp4');
    const boxed = join(workDir, 'pq-boxed.mp4');
    await makeSdrMaster(master, 4);
    await makeHdrClip(
      master,
      plain,
      'smpte2084',
      'keyint=25:min-keyint=25:open-gop=0:hdr10=1:max-cll=203,100',
    );
    await withHdr10Boxes(plain, boxed, { masteringDisplay: BT2020_DISPLAY_4000, maxCll: 203, maxFall: 100 });
    const s3 = stackS3Client(stack!);
    await upload(s3, boxed, 'inputs/pq-boxed.mp4');
    const { job } = await runJob<{ state: string; pipeline?: { kind: string; chunks?: { total: number } } }>({
      name: 'images-hdr-chunked',
      compute: 'intel',
      inputs: [{ url: `s3://${stack!.bucket}/inputs/pq-boxed.mp4` }],
      outputs: [
        {
          url: `s3://${stack!.bucket}/out/pq-chunked.mp4`,
          options: '-c:v libx265 -preset ultrafast -crf 24 -x265-params log-level=error',
        },
      ],
      split: { segmentSeconds: 2 },
    });
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.pipeline).toMatchObject({ kind: 'split', chunks: { total: 2 } });
    const out = await download(s3, 'out/pq-chunked.mp4', join(workDir, 'pq-chunked.mp4'));
    s3.destroy();
    expect(await packets(out, 'v:0')).toHaveLength(100);
    const metadata = await firstFrameHdr10Of(out);
    expect(metadata).toMatchObject({ maxCll: 203, maxFall: 100, masteringDisplay: { maxLuminance: 4000 } });
    expect(metadata!.masteringDisplay!.red[0]).toBeCloseTo(0.708, 4);
  });
});

describe('make images', () => {
  it('builds the gateway with podman and pushes it as a manifest list to the registry it is given', async () => {
    // A local registry (CNCF distribution) on loopback; amd64 only: this machine has no arm64 emulation.
    const port = await freePort();
    const storage = await mkdtemp(join(workDir, 'registry-'));
    const config = join(storage, 'config.yml');
    await writeFile(
      config,
      [
        'version: 0.1',
        'storage:',
        `  filesystem: { rootdirectory: ${storage}/data }`,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    const registry = spawn(join(TOOL_DIR, 'registry'), ['serve', config], { stdio: 'ignore' });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, 'registry');
      const env = {
        ...podman.env,
        REGISTRY: `127.0.0.1:${port}`,
        TAG: 'images-test',
        IMAGES: 'gateway',
        PLATFORMS: 'linux/amd64',
        BUILDER: 'podman',
        TLS_VERIFY: 'false',
      };
      await timed('make images (gateway, cached layers)', () =>
        run(join(repoRoot, 'scripts/images.sh'), [], { env, cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }),
      );
      const response = await fetch(`http://127.0.0.1:${port}/v2/ffleet/gateway/manifests/images-test`, {
        headers: {
          accept:
            'application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json',
        },
      });
      expect(response.status).toBe(200);
      const index = (await response.json()) as {
        manifests: { platform: { os: string; architecture: string } }[];
      };
      expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
        'linux/amd64',
      ]);
    } finally {
      await stopChild(registry);
    }
  });
});
