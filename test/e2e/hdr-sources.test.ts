/**
 * HDR sources on a real fleet (Redis, S3 server, two worker processes, ffmpeg): ladders and
 * previews are SDR BT.709, so an HDR source (HDR10's PQ, or HLG as phones record) must be
 * tone-mapped, not written into them as it is. The sources are made from an SDR master the way
 * BT.2408 places SDR in HDR (SDR white at HDR reference white, 203 cd/m², BT.2020 colours), so
 * a faithful tone mapping gives back something close to the master; an HDR signal written into
 * 8-bit BT.709 as it is does not (dim and washed out).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hdrColourOf, type QualityRecord, toneMapFilter } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { renditionFile } from '../support/hls.ts';
import {
  analyseFile,
  BT2020_DISPLAY_4000,
  ffmpeg,
  firstFrameHdr10Of,
  makeHdrClip,
  makeSdrMaster,
  meanLuma,
  packets,
  psnr,
  withDolbyVisionRecord,
  withHdr10Boxes,
} from '../support/media.ts';
import { checkPlayback } from '../support/playback.ts';

const POOL = 'intel';
const run = promisify(execFile);
const SECONDS = 6;
const TRANSFERS = { pq: 'smpte2084', hlg: 'arib-std-b67' } as const;

let fleet: TestFleet;
/** The SDR master, losslessly coded. */
let master: string;
const sources = { pq: '', hlg: '' };
/** The PQ source tagged MaxCLL 203 cd/m² (its true peak: the master's white at reference white). */
let dimPq: string;

beforeAll(async () => {
  fleet = await startFleet();
  master = join(fleet.dir, 'master.mkv');
  await makeSdrMaster(master, SECONDS);
  for (const kind of ['pq', 'hlg'] as const) {
    sources[kind] = join(fleet.dir, `${kind}.mp4`);
    // Closed GOPs, a keyframe a second, HDR10's mastering metadata on the PQ source.
    await makeHdrClip(
      master,
      sources[kind],
      TRANSFERS[kind],
      `keyint=25:min-keyint=25:open-gop=0${
        kind === 'pq'
          ? ':hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400'
          : ''
      }`,
    );
    await fleet.put(`inputs/${kind}.mp4`, sources[kind]);
  }
  // The PQ source again, with metadata that says what is true of it: no light above SDR white.
  dimPq = join(fleet.dir, 'pq-203.mp4');
  await makeHdrClip(
    master,
    dimPq,
    'smpte2084',
    'keyint=25:min-keyint=25:open-gop=0:hdr10=1:max-cll=203,100:' +
      'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)',
  );
  await fleet.put('inputs/pq-203.mp4', dimPq);
  for (let i = 0; i < 2; i++) await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

/** Pixel format, colour tags and frames of a file's video, as ffprobe reads them. */
async function videoOf(file: string) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-of', 'json', '-show_entries'],
    'stream=width,height,pix_fmt,color_range,color_space,color_primaries,color_transfer,nb_read_frames',
    file,
  ]);
  const s = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0]!;
  return {
    width: s.width,
    height: s.height,
    pixFmt: s.pix_fmt,
    range: s.color_range,
    space: s.color_space,
    primaries: s.color_primaries,
    transfer: s.color_transfer,
    frames: Number(s.nb_read_frames),
  };
}

/**
 * What ffprobe must read of a rung of the test ladders: its size, every frame of the source,
 * limited range, and either 8-bit BT.709 (SDR) or 10-bit BT.2020 with the HDR `transfer`.
 */
function rungVideo(rung: { width: number; height: number }, transfer?: string) {
  return {
    width: rung.width,
    height: rung.height,
    pixFmt: transfer ? 'yuv420p10le' : 'yuv420p',
    range: 'tv',
    space: transfer ? 'bt2020nc' : 'bt709',
    primaries: transfer ? 'bt2020' : 'bt709',
    transfer: transfer ?? 'bt709',
    frames: SECONDS * 25,
  };
}

describe('the workers', () => {
  it('say in GET /v1/pools that their ffmpeg can tone-map HDR sources', async () => {
    const { body } = await fleet.api<{ pools: { name: string; workers: { toneMapping?: boolean }[] }[] }>(
      'GET',
      '/v1/pools',
    );
    const workers = body.pools.find((p) => p.name === POOL)!.workers;
    expect(workers).toHaveLength(2);
    for (const worker of workers) expect(worker.toneMapping).toBe(true);
  });
});

describe('the sources', () => {
  it('are HDR: 10-bit BT.2020, PQ and HLG', async () => {
    for (const kind of ['pq', 'hlg'] as const) {
      const { video } = await analyseFile(sources[kind]);
      expect(video!.colour).toEqual({
        range: 'tv',
        space: 'bt2020nc',
        primaries: 'bt2020',
        transfer: TRANSFERS[kind],
      });
      expect(video!.pixelFormat).toBe('yuv420p10le');
      expect(hdrColourOf(video!.colour)?.transfer).toBe(kind);
    }
  });
});

const rungs = [
  { height: 360, width: 640, bitrateKbps: 1200 },
  { height: 180, width: 320, bitrateKbps: 400 },
];

describe.each([
  { kind: 'pq' as const, chunkSeconds: 2, how: 'in chunks' },
  { kind: 'hlg' as const, chunkSeconds: 0, how: 'whole' },
])('a ladder of the $kind source, $how', ({ kind, chunkSeconds }) => {
  const base = `out/${kind}-ladder/`;
  let job: JobView;
  let playlist: HLS.types.MasterPlaylist;
  const files = new Map<number, string>();

  beforeAll(async () => {
    const id = await fleet.submit({
      name: `${kind}-ladder`,
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/${kind}.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      quality: true,
      ladder: {
        preset: 'ultrafast',
        chunkSeconds,
        rungs: rungs.map(({ height, bitrateKbps }) => ({ height, bitrateKbps })),
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
    playlist = HLS.parse(
      (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
    ) as HLS.types.MasterPlaylist;
  }, 260_000);

  it('succeeds and says the source was tone-mapped', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    // The PQ source's MaxCLL is 1000 cd/m²; HLG's peak is taken as 1000.
    expect(job.pipeline).toMatchObject({ kind: 'ladder', toneMappedFrom: kind, toneMapPeakNits: 1000 });
    if (chunkSeconds > 0)
      expect(job.pipeline).toMatchObject({ chunks: { total: rungs.length * (SECONDS / chunkSeconds) } });
  });

  it('has SDR rungs, 8-bit BT.709 and tagged so, close to the SDR master; the HDR signal as it was is not', async () => {
    for (const rung of rungs) {
      const variant = playlist.variants.find((v) => v.resolution?.height === rung.height)!;
      const file = await renditionFile(fleet, base, variant.uri, `${kind}-rung-${rung.height}.mp4`);
      files.set(rung.height, file);
      expect(await videoOf(file)).toEqual(rungVideo(rung));
      const scale = `scale=${rung.width}:${rung.height}`;
      const toneMapped = await psnr(master, file, { distorted: 'null', reference: scale });
      // What the rung was before tone mapping: the HDR signal scaled, in 8 bits.
      const asItWas = await psnr(master, sources[kind], {
        distorted: `${scale},format=yuv420p`,
        reference: scale,
      });
      expect(toneMapped, `${rung.height}p`).toBeGreaterThan(25);
      expect(toneMapped, `${rung.height}p`).toBeGreaterThan(asItWas + 6);
    }
  });

  it('measures each rung against the source tone-mapped as the rung was, and records that', async () => {
    const colour = hdrColourOf((await analyseFile(sources[kind])).video!.colour)!;
    for (const { name, quality, metricsUrl } of job.rungQuality!) {
      expect(quality, name).toMatchObject({ status: 'measured' });
      const record = JSON.parse(
        (await fleet.get(metricsUrl!.replace(`s3://${fleet.bucket}/`, ''))).toString('utf8'),
      ) as QualityRecord;
      expect(record.ffleet.reference_tone_mapped).toBe(kind);
      // ffmpeg's own PSNR of every frame of the rung, scaled to the source's size, against the
      // source tone-mapped; and against the HDR signal as it is, which the rung never showed.
      const file = files.get(record.ffleet.rung!.height)!;
      const distorted = 'scale=1280:720:flags=bicubic';
      const full = await psnr(sources[kind], file, { distorted, reference: toneMapFilter(colour) });
      expect(Math.abs(quality.psnr! - full), name).toBeLessThan(1);
      const untouched = await psnr(sources[kind], file, {
        distorted: `${distorted},format=yuv420p10le`,
        reference: 'null',
      });
      expect(quality.psnr!, name).toBeGreaterThan(untouched + 6);
    }
  });
});

describe.each([
  { kind: 'pq' as const, codec: 'hevc', chunkSeconds: 2, how: 'HEVC, in chunks' },
  { kind: 'hlg' as const, codec: 'av1', chunkSeconds: 0, how: 'AV1, whole' },
])('an HDR ladder of the $kind source ($how): rungs that keep it', ({ kind, codec, chunkSeconds }) => {
  const base = `out/${kind}-hdr-ladder/`;
  const range = kind === 'pq' ? 'PQ' : 'HLG';
  let job: JobView;
  let masterText: string;
  const files = new Map<number, string>();

  beforeAll(async () => {
    const id = await fleet.submit({
      name: `${kind}-hdr-ladder`,
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/${kind}.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      quality: true,
      ladder: {
        codec,
        hdr: 'keep',
        preset: codec === 'av1' ? '12' : 'ultrafast',
        chunkSeconds,
        rungs: rungs.map(({ height, bitrateKbps }) => ({ height, bitrateKbps })),
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
    masterText = (await fleet.get(`${base}master.m3u8`)).toString('utf8');
  }, 260_000);

  it('succeeds and says its rungs are HDR, not tone-mapped', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pipeline).toMatchObject({ kind: 'ladder', hdr: kind });
    expect(job.pipeline).not.toHaveProperty('toneMappedFrom');
  });

  it(`has 10-bit rungs tagged as the source, close to it, each variant with VIDEO-RANGE=${range}`, async () => {
    const playlist = HLS.parse(masterText) as HLS.types.MasterPlaylist;
    const streamLines = masterText.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'));
    const iFrameLines = masterText.split('\n').filter((l) => l.startsWith('#EXT-X-I-FRAME-STREAM-INF'));
    expect(streamLines).toHaveLength(rungs.length);
    expect(iFrameLines).toHaveLength(rungs.length);
    for (const line of [...streamLines, ...iFrameLines]) expect(line).toContain(`VIDEO-RANGE=${range}`);
    // HEVC Main 10 (general profile 2); AV1 Main, 10 bits.
    for (const variant of playlist.variants)
      expect(variant.codecs).toMatch(codec === 'hevc' ? /^hvc1\.2\.4\.L\d+/ : /^av01\.0\.\d\dM\.10/);
    for (const rung of rungs) {
      const variant = playlist.variants.find((v) => v.resolution?.height === rung.height)!;
      const file = await renditionFile(fleet, base, variant.uri, `${kind}-hdr-rung-${rung.height}.mp4`);
      files.set(rung.height, file);
      expect(await videoOf(file)).toEqual(rungVideo(rung, TRANSFERS[kind]));
      // Against the HDR source scaled, both 10-bit: the signal kept, not tone-mapped.
      const scale = `scale=${rung.width}:${rung.height}`;
      const kept = await psnr(sources[kind], file, { distorted: 'null', reference: scale });
      expect(kept, `${rung.height}p`).toBeGreaterThan(30);
    }
  });

  if (kind === 'pq')
    it("carries the source's HDR10 metadata in every rung (MaxCLL 1000, MaxFALL 400, its mastering display)", async () => {
      const source = await firstFrameHdr10Of(sources.pq);
      expect(source).toMatchObject({ maxCll: 1000, maxFall: 400, masteringDisplay: { maxLuminance: 1000 } });
      for (const file of files.values()) {
        const rung = await firstFrameHdr10Of(file);
        expect(rung, file).toEqual(source);
      }
    });

  it('declares the colour in the DASH manifest (CICP primaries, transfer, matrix)', async () => {
    const mpd = (await fleet.get(`${base}manifest.mpd`)).toString('utf8');
    const video = /<AdaptationSet\b[^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/.exec(mpd)?.[0] ?? '';
    for (const [name, value] of [
      ['ColourPrimaries', 9],
      ['TransferCharacteristics', kind === 'pq' ? 16 : 18],
      ['MatrixCoefficients', 9],
    ])
      expect(video).toContain(
        `<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:${name}" value="${value}"/>`,
      );
  });

  it('measures each rung against the HDR source as it is', async () => {
    for (const { name, quality, metricsUrl } of job.rungQuality!) {
      expect(quality, name).toMatchObject({ status: 'measured' });
      const record = JSON.parse(
        (await fleet.get(metricsUrl!.replace(`s3://${fleet.bucket}/`, ''))).toString('utf8'),
      ) as QualityRecord;
      expect(record.ffleet.reference_tone_mapped).toBeUndefined();
      const file = files.get(record.ffleet.rung!.height)!;
      const full = await psnr(sources[kind], file, {
        distorted: 'scale=1280:720:flags=bicubic',
        reference: 'null',
      });
      expect(Math.abs(quality.psnr! - full), name).toBeLessThan(1);
    }
  });
});

describe('a ladder of the PQ source with HDR and SDR rungs ("both"), in chunks', () => {
  const base = 'out/pq-both-ladder/';
  let job: JobView;
  let masterText: string;
  let playlist: HLS.types.MasterPlaylist;
  /** The master playlist's variants, not its I-frame ones. */
  const variants = () => playlist.variants.filter((v) => !v.isIFrameOnly);
  const hdrVariants = () => variants().filter((v) => v.uri.includes('-hdr/'));
  const sdrVariants = () => variants().filter((v) => !v.uri.includes('-hdr/'));

  beforeAll(async () => {
    const id = await fleet.submit({
      name: 'pq-both-ladder',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/pq.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      quality: true,
      ladder: {
        codec: 'hevc',
        hdr: 'both',
        preset: 'ultrafast',
        chunkSeconds: 2,
        rungs: rungs.map(({ height, bitrateKbps }) => ({ height, bitrateKbps })),
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 300_000);
    masterText = (await fleet.get(`${base}master.m3u8`)).toString('utf8');
    playlist = HLS.parse(masterText) as HLS.types.MasterPlaylist;
  }, 320_000);

  it('succeeds: every rung twice, each in every chunk; the view says some are tone-mapped and some HDR', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pipeline).toMatchObject({ kind: 'ladder', toneMappedFrom: 'pq', hdr: 'pq' });
    expect(job.pipeline).toMatchObject({ chunks: { total: 2 * rungs.length * (SECONDS / 2) } });
    if (job.pipeline?.kind !== 'ladder') return;
    expect(job.pipeline.rungs!.map((r) => r.name).sort()).toEqual([
      '180p-400k',
      '180p-400k-hdr',
      '360p-1200k',
      '360p-1200k-hdr',
    ]);
  });

  it('lists SDR H.264 variants without a range and HDR HEVC variants with VIDEO-RANGE=PQ in one master playlist', () => {
    const lines = masterText.split('\n');
    const streams = lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF'));
    const iFrames = lines.filter((l) => l.startsWith('#EXT-X-I-FRAME-STREAM-INF'));
    expect(streams).toHaveLength(2 * rungs.length);
    expect(iFrames).toHaveLength(2 * rungs.length);
    for (const line of [...streams, ...iFrames]) {
      if (line.includes('CODECS="avc1')) expect(line).not.toContain('VIDEO-RANGE');
      else expect(line).toMatch(/CODECS="hvc1\.2\.4\.L\d+.*VIDEO-RANGE=PQ/);
    }
    expect(sdrVariants()).toHaveLength(rungs.length);
    expect(hdrVariants()).toHaveLength(rungs.length);
    // The first variant, where players start, is one every player decodes.
    expect(variants()[0]!.codecs).toMatch(/^avc1\./);
  });

  it("has SDR rungs, 8-bit BT.709 close to the SDR master, and HDR rungs, 10-bit PQ with the source's HDR10 metadata", async () => {
    const source = await firstFrameHdr10Of(sources.pq);
    expect(variants()).toHaveLength(2 * rungs.length);
    for (const variant of variants()) {
      const rung = rungs.find((r) => r.height === variant.resolution?.height)!;
      const hdr = variant.uri.includes('-hdr/');
      const file = await renditionFile(
        fleet,
        base,
        variant.uri,
        `both-${hdr ? 'hdr' : 'sdr'}-${rung.height}.mp4`,
      );
      expect(await videoOf(file), variant.uri).toEqual(rungVideo(rung, hdr ? TRANSFERS.pq : undefined));
      const scale = `scale=${rung.width}:${rung.height}`;
      if (hdr) {
        expect(
          await psnr(sources.pq, file, { distorted: 'null', reference: scale }),
          variant.uri,
        ).toBeGreaterThan(30);
        const rungHdr10 = await firstFrameHdr10Of(file);
        expect(rungHdr10, variant.uri).toEqual(source);
      } else {
        expect(
          await psnr(master, file, { distorted: 'null', reference: scale }),
          variant.uri,
        ).toBeGreaterThan(25);
      }
    }
  });

  it("shows every variant's first frame at the same time, HEVC's after its B-frames as H.264's without", async () => {
    // x264's ultrafast has no B-frames; x265's does: its first frame shows 80 ms into the fragments.
    const starts: string[] = [];
    for (const [i, variant] of variants().entries()) {
      const file = await renditionFile(fleet, base, variant.uri, `both-start-${i}.mp4`);
      starts.push(Math.min(...(await packets(file, 'v:0')).map((p) => p.pts)).toFixed(3));
    }
    expect(
      starts,
      variants()
        .map((v) => v.uri)
        .join(' '),
    ).toEqual(starts.map(() => '0.080'));
  });

  it('packages the DASH manifest as two video sets, SDR H.264 then HDR HEVC declaring its colour', async () => {
    const mpd = (await fleet.get(`${base}manifest.mpd`)).toString('utf8');
    const sets = [...mpd.matchAll(/<AdaptationSet\b[^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/g)].map(
      (m) => m[0],
    );
    expect(sets).toHaveLength(2);
    const codecs = (set: string) => [...set.matchAll(/codecs="([^"]+)"/g)].map((m) => m[1]!);
    expect(codecs(sets[0]!)).toHaveLength(rungs.length);
    for (const codec of codecs(sets[0]!)) expect(codec).toMatch(/^avc1\./);
    expect(sets[0]).not.toContain('SupplementalProperty');
    expect(codecs(sets[1]!)).toHaveLength(rungs.length);
    for (const codec of codecs(sets[1]!)) expect(codec).toMatch(/^hvc1\.2\.4\./);
    expect(sets[1]).toContain(
      '<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="16"/>',
    );
  });

  it('measures the SDR rungs against the source tone-mapped and the HDR rungs against it as it is', async () => {
    expect(job.rungQuality).toHaveLength(2 * rungs.length);
    for (const { name, quality, metricsUrl } of job.rungQuality!) {
      expect(quality, name).toMatchObject({ status: 'measured' });
      const record = JSON.parse(
        (await fleet.get(metricsUrl!.replace(`s3://${fleet.bucket}/`, ''))).toString('utf8'),
      ) as QualityRecord;
      expect(record.ffleet.reference_tone_mapped, name).toBe(name.endsWith('-hdr') ? undefined : 'pq');
    }
  });

  for (const player of ['hls', 'dash'] as const)
    it(`plays its SDR H.264 rungs in Chromium (no HEVC there) with ${player === 'hls' ? 'hls.js' : 'dash.js'}`, {
      timeout: 120_000,
    }, async () => {
      const offered = await checkPlayback(fleet, { prefix: base, player, rungs: rungs.length, seconds: 4 });
      for (const codec of offered.codecs) expect(codec).toMatch(/^avc1\./);
    });
});

describe('an HDR ladder in H.264', () => {
  it('is refused: H.264 rungs are 8-bit SDR', async () => {
    const { status, body } = await fleet.api<{ message: string }>('POST', '/v1/jobs', {
      name: 'h264-hdr-ladder',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/pq.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/h264-hdr/` }],
      ladder: { hdr: 'keep' },
    });
    expect(status).toBe(400);
    expect(body.message).toContain('ladder.hdr "keep" needs codec hevc or av1');
  });
});

describe('Dolby Vision sources', () => {
  // The PQ clip labelled as Dolby Vision: profile 5 (a base layer in IPT colours, compatible with
  // nothing) and profile 8.1 (an HDR10 base layer). Its pictures stay the PQ clip's.
  beforeAll(async () => {
    for (const [name, dv] of [
      ['dv5', { profile: 5, compatibility: 0 }],
      ['dv81', { profile: 8, compatibility: 1 }],
    ] as const) {
      const file = join(fleet.dir, `${name}.mp4`);
      await withDolbyVisionRecord(sources.pq, file, dv);
      await fleet.put(`inputs/${name}.mp4`, file);
    }
  });

  const job = (name: string, source: string, pipeline: Record<string, unknown>) =>
    fleet.submit({
      name,
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/${source}.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
      ...pipeline,
    });

  it('refuse ladders and previews of profile 5, whose pictures only a Dolby Vision decoder shows, saying why', async () => {
    for (const [name, pipeline] of [
      ['dv5-ladder', { ladder: { preset: 'ultrafast', rungs: [{ height: 180, bitrateKbps: 400 }] } }],
      ['dv5-previews', { previews: { poster: true, sprite: false, animations: false } }],
    ] as const) {
      const failed = await fleet.waitFor<JobView>(await job(name, 'dv5', pipeline), finished, 120_000);
      expect(failed.state, name).toBe('failed');
      expect(failed.error, name).toMatchObject({
        code: 'dolby_vision_unsupported',
        message: expect.stringContaining('Dolby Vision profile 5 with no HDR10, HLG or SDR base layer'),
      });
      expect(failed.attempts.made, `${name}: not retried`).toBe(1);
      for (const file of ['master.m3u8', 'poster.jpg'])
        expect(await fleet.exists(`out/${name}/${file}`), `${name}: nothing published`).toBe(false);
    }
  });

  it('make previews of profile 8.1 from its HDR10 base layer, tone-mapped as the PQ clip is', async () => {
    const done = await fleet.waitFor<JobView>(
      await job('dv81-previews', 'dv81', { previews: { poster: true, sprite: false, animations: false } }),
      finished,
      120_000,
    );
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.pipeline).toMatchObject({ kind: 'previews', toneMappedFrom: 'pq' });
  });
});

describe('previews of the HLG source', () => {
  const base = 'out/hlg-previews/';
  let job: JobView;

  beforeAll(async () => {
    const id = await fleet.submit({
      name: 'hlg-previews',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/hlg.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      previews: {
        poster: { time: 2 },
        sprite: { intervalSeconds: 2, width: 320, columns: 2, rows: 2 },
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
  }, 260_000);

  it('succeeds and says the source was tone-mapped', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pipeline).toMatchObject({ kind: 'previews', toneMappedFrom: 'hlg' });
  });

  it('makes the poster and the sprite sheet SDR: close to the same pictures of the SDR master', async () => {
    const poster = join(fleet.dir, 'hlg-poster.jpg');
    await writeFile(poster, await fleet.get(`${base}poster.jpg`));
    const sheet = join(fleet.dir, 'hlg-sheet.jpg');
    const manifest = JSON.parse((await fleet.get(`${base}manifest.json`)).toString('utf8')) as {
      sprite: { sheets: { file: string }[] };
    };
    await writeFile(sheet, await fleet.get(`${base}${manifest.sprite.sheets[0]!.file}`));
    const still = ['-ss', '2'];
    for (const [picture, filters, input] of [
      [poster, 'scale=1280:720', still],
      [sheet, 'fps=1/2:round=up,scale=320:180,tile=2x2', []],
    ] as const) {
      const frame = async (source: string, extra: string, name: string) => {
        const file = join(fleet.dir, name);
        await ffmpeg([...input, '-i', source, '-vf', `${filters}${extra}`, '-frames:v', '1', file]);
        return file;
      };
      const sdr = await frame(master, '', 'sdr-frame.png');
      const toneMapped = await psnr(sdr, picture, {
        distorted: 'format=yuv444p',
        reference: 'format=yuv444p',
      });
      const hdrAsItIs = await frame(sources.hlg, ',format=yuv420p', 'hdr-frame.png');
      const asItWas = await psnr(sdr, hdrAsItIs, {
        distorted: 'format=yuv444p',
        reference: 'format=yuv444p',
      });
      expect(toneMapped, picture).toBeGreaterThan(24);
      expect(toneMapped, picture).toBeGreaterThan(asItWas + 5);
    }
  });
});

describe("posters of PQ sources, rolled off from each source's own peak", () => {
  const jobs: Record<'pq' | 'dim', JobView> = {} as never;
  const inputs = { pq: 'pq.mp4', dim: 'pq-203.mp4' };

  beforeAll(async () => {
    const ids = await Promise.all(
      (['pq', 'dim'] as const).map((which) =>
        fleet
          .submit({
            name: `${which}-poster`,
            compute: POOL,
            inputs: [{ url: `s3://${fleet.bucket}/inputs/${inputs[which]}` }],
            outputs: [{ url: `s3://${fleet.bucket}/out/${which}-poster/` }],
            previews: { poster: { time: 2 } },
          })
          .then((id) => [which, id] as const),
      ),
    );
    for (const [which, id] of ids) jobs[which] = await fleet.waitFor<JobView>(id, finished, 240_000);
  }, 260_000);

  it('read the peak from the HEVC stream: MaxCLL 1000 and 203 cd/m²', () => {
    for (const which of ['pq', 'dim'] as const) expect(jobs[which].state).toBe('succeeded');
    expect(jobs.pq.pipeline).toMatchObject({ toneMappedFrom: 'pq', toneMapPeakNits: 1000 });
    expect(jobs.dim.pipeline).toMatchObject({ toneMappedFrom: 'pq', toneMapPeakNits: 203 });
  });

  it("keep the master's brightness for the source no brighter than SDR white, which a 1000 cd/m² roll-off dims", async () => {
    const sdr = join(fleet.dir, 'sdr-poster.png');
    await ffmpeg(['-ss', '2', '-i', master, '-frames:v', '1', sdr]);
    const luma: Record<string, number> = { master: await meanLuma(sdr) };
    for (const which of ['pq', 'dim'] as const) {
      const poster = join(fleet.dir, `${which}-poster.jpg`);
      await writeFile(poster, await fleet.get(`out/${which}-poster/poster.jpg`));
      luma[which] = await meanLuma(poster);
    }
    // Both come from the same HDR pixels: only the peak they were rolled off from differs.
    expect(Math.abs(luma.dim! - luma.master!), JSON.stringify(luma)).toBeLessThan(2.5);
    expect(luma.master! - luma.pq!, JSON.stringify(luma)).toBeGreaterThan(3);
  });
});

describe('chunked encodes of a PQ source whose HDR10 metadata its container holds', () => {
  /**
   * The container's metadata (MP4 mdcv and clli boxes), unlike what the source's own stream
   * says (MaxCLL 1000): what a chunk writes can only have come from the container.
   */
  const containerHdr10 = { masteringDisplay: BT2020_DISPLAY_4000, maxCll: 1200, maxFall: 300 };
  // The job's own HDR-to-SDR filters (not ffleet's): its output's colour is what they leave.
  const toSdr =
    '-vf zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,' +
    'zscale=t=bt709:m=bt709:r=tv,format=yuv420p -c:v libx264 -preset ultrafast -crf 18';
  const encodes = {
    'sdr-whole': { options: toSdr, split: false },
    'sdr-chunked': { options: toSdr, split: true },
    'hdr-x265': {
      options: '-c:v libx265 -preset ultrafast -crf 24 -x265-params log-level=error',
      split: true,
    },
    'hdr-x264': { options: '-c:v libx264 -preset ultrafast -crf 24', split: true },
  };
  const jobs = {} as Record<keyof typeof encodes, JobView>;
  const files = {} as Record<keyof typeof encodes, string>;

  beforeAll(async () => {
    const boxed = join(fleet.dir, 'pq-boxed.mp4');
    await withHdr10Boxes(sources.pq, boxed, containerHdr10);
    await fleet.put('inputs/pq-boxed.mp4', boxed);
    const ids = await Promise.all(
      Object.entries(encodes).map(([name, { options, split }]) =>
        fleet
          .submit({
            name: `pq-boxed-${name}`,
            compute: POOL,
            inputs: [{ url: `s3://${fleet.bucket}/inputs/pq-boxed.mp4` }],
            outputs: [{ url: `s3://${fleet.bucket}/out/pq-boxed-${name}.mp4`, options }],
            ...(split ? { split: { segmentSeconds: 2 } } : {}),
          })
          .then((id) => [name as keyof typeof encodes, id] as const),
      ),
    );
    for (const [name, id] of ids) {
      jobs[name] = await fleet.waitFor<JobView>(id, finished, 240_000);
      if (jobs[name].state !== 'succeeded') continue;
      files[name] = join(fleet.dir, `pq-boxed-${name}.mp4`);
      await writeFile(files[name], await fleet.get(`out/pq-boxed-${name}.mp4`));
    }
  }, 260_000);

  it('the source: ffprobe reads the boxes as its side data, other metadata than its stream carries', async () => {
    const media = await analyseFile(join(fleet.dir, 'pq-boxed.mp4'));
    expect(media.video!.hdrSideData).toEqual(['Mastering display metadata', 'Content light level metadata']);
    expect(media.video!.hdr10).toMatchObject({
      maxCll: 1200,
      maxFall: 300,
      masteringDisplay: { maxLuminance: 4000 },
    });
    expect(await firstFrameHdr10Of(sources.pq)).toMatchObject({ maxCll: 1000, maxFall: 400 });
  });

  it("in libx265, carry the container's metadata in every chunk's stream: the joined output's frames say it", async () => {
    expect(jobs['hdr-x265'].state, JSON.stringify(jobs['hdr-x265'].error)).toBe('succeeded');
    expect(jobs['hdr-x265'].pipeline).toMatchObject({ kind: 'split', chunks: { total: SECONDS / 2 } });
    const file = files['hdr-x265'];
    expect(await videoOf(file)).toMatchObject({
      pixFmt: 'yuv420p10le',
      primaries: 'bt2020',
      transfer: 'smpte2084',
      frames: SECONDS * 25,
    });
    // In each chunk's stream: at the first frame and at the keyframe that opens the last chunk.
    const atLastChunk = join(fleet.dir, 'pq-boxed-last-chunk.mp4');
    await ffmpeg(['-ss', String(SECONDS - 2), '-i', file, '-c', 'copy', atLastChunk]);
    for (const part of [file, atLastChunk]) {
      const hdr10 = await firstFrameHdr10Of(part);
      expect(hdr10, part).toMatchObject({ maxCll: 1200, maxFall: 300 });
      const display = hdr10!.masteringDisplay!;
      expect(display.maxLuminance).toBe(4000);
      expect(display.minLuminance).toBeCloseTo(0.005, 4);
      for (const colour of ['red', 'green', 'blue', 'whitePoint'] as const)
        for (const [i, v] of display[colour].entries())
          expect(v, colour).toBeCloseTo(containerHdr10.masteringDisplay[colour][i]!, 4);
    }
  });

  it('refuse an encoder that cannot carry it, naming the ones that can, before encoding anything', () => {
    const job = jobs['hdr-x264'];
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'not_splittable' });
    expect(job.error!.message).toContain(
      'would be lost by the join: chunks carry it in their stream with libx265 or libsvtav1, not with libx264',
    );
  });

  it('when its own filters tone-map it, have nothing to keep: tagged as its filters leave it (BT.709), as the same command run whole is', async () => {
    for (const name of ['sdr-whole', 'sdr-chunked'] as const)
      expect(jobs[name].state, JSON.stringify(jobs[name].error)).toBe('succeeded');
    expect(jobs['sdr-chunked'].pipeline).toMatchObject({ kind: 'split', chunks: { total: SECONDS / 2 } });
    const whole = await videoOf(files['sdr-whole']);
    expect(whole).toMatchObject({ pixFmt: 'yuv420p', primaries: 'bt709', transfer: 'bt709', space: 'bt709' });
    expect(await videoOf(files['sdr-chunked'])).toEqual(whole);
    expect(
      await psnr(files['sdr-whole'], files['sdr-chunked'], { distorted: 'null', reference: 'null' }),
    ).toBeGreaterThan(35);
  });
});
