import {
  checkSplittableMedia,
  chunkHdr10Params,
  FfleetError,
  optionArgs,
  PoolRegistry,
  splitOptions,
  validateJob,
  withHdr10Params,
} from '@ffleet/core';
import { describe, expect, it } from 'vitest';

const pools = PoolRegistry.load();

function job(output: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'chunked',
    compute: 'intel',
    inputs: [{ url: 's3://media/in/source.mp4' }],
    outputs: [{ url: 's3://media/out/encoded.mp4', options: output }],
    split: { segmentSeconds: 10 },
    ...extra,
  };
}

/** The reasons a split job is refused, or [] when it is accepted. */
function refusals(body: unknown): string[] {
  try {
    validateJob(body, pools, {});
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(FfleetError);
    expect((error as FfleetError).code).toBe('not_splittable');
    expect((error as FfleetError).status).toBe(400);
    return ((error as FfleetError).details as { reasons: string[] }).reasons;
  }
}

describe('split jobs', () => {
  it('divide output options between chunk encodes, the audio encode and the join', () => {
    const { plan } = validateJob(
      job(
        '-c:v libx264 -crf 23 -preset fast -vf scale=1280:-2 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 ' +
          '-af loudnorm -movflags +faststart -metadata title=Clip -tag:v avc1 -threads 2',
      ),
      pools,
      {},
    );
    const divided = splitOptions(plan);
    expect(optionArgs(divided.video)).toEqual([
      ...['-c:v', 'libx264', '-crf', '23', '-preset', 'fast', '-vf', 'scale=1280:-2'],
      ...['-pix_fmt', 'yuv420p', '-threads', '2'],
    ]);
    expect(optionArgs(divided.audio)).toEqual([
      ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-af', 'loudnorm', '-threads', '2'],
    ]);
    expect(optionArgs(divided.muxer)).toEqual([
      ...['-movflags', '+faststart', '-metadata', 'title=Clip', '-tag:v', 'avc1'],
    ]);
    expect(divided).toMatchObject({ noAudio: false, changesFrameRate: false, changesColour: false });
  });

  it("note video filters that set the colour, whose frames' tags then win over the source's", () => {
    const changesColour = (options: string) =>
      splitOptions(validateJob(job(`-c:v libx264 ${options}`), pools, {}).plan).changesColour;
    expect(changesColour('-vf zscale=t=linear,format=gbrpf32le,tonemap=hable,zscale=t=bt709:m=bt709')).toBe(
      true,
    );
    expect(changesColour('-vf scale=640:-2,colorspace=all=bt709')).toBe(true);
    expect(changesColour('-vf scale=w=640:h=-2:out_color_matrix=bt709:out_range=tv')).toBe(true);
    expect(changesColour('-filter:v setparams=color_trc=bt709')).toBe(true);
    // Resizing keeps the colour; so does an audio filter, and tagging the output by option.
    expect(changesColour('-vf scale=640:-2,unsharp')).toBe(false);
    expect(changesColour('-af aresample=48000 -color_trc bt709')).toBe(false);
  });

  it('note a dropped audio track and a frame-rate change', () => {
    const { plan } = validateJob(job('-c:v libx264 -r 30 -an'), pools, {});
    expect(splitOptions(plan)).toMatchObject({ noAudio: true, changesFrameRate: true });
    const fps = validateJob(job('-c:v libx264 -vf fps=24,scale=640:-2'), pools, {});
    expect(splitOptions(fps.plan).changesFrameRate).toBe(true);
  });

  it('accept audio stream copy and timeline filters on audio (audio is encoded once, whole)', () => {
    expect(refusals(job('-c:v libx264 -c:a copy'))).toEqual([]);
    expect(refusals(job('-c:v libx264 -af afade=t=in:st=0:d=2,areverse'))).toEqual([]);
    expect(refusals(job('-c:v libx264 -vf "drawtext=text=%{pts}:fontsize=20"'))).toEqual([]);
  });

  it.each([
    ['-c:v libx264 -vf fade=in:0:25', 'fade counts frames and time from the start of each chunk'],
    ['-c:v libx264 -vf "fade=t=out:st=50:d=2"', 'fade counts frames'],
    ['-c:v libx264 -vf reverse', 'reverse needs the whole video'],
    ['-c:v libx264 -vf loop=loop=2:size=10', 'loop repeats frames'],
    ['-c:v libx264 -vf "select=not(mod(n\\,2))"', 'select: frame numbers restart in every chunk'],
    ['-c:v libx264 -vf "drawtext=text=%{n}:fontsize=20"', 'drawtext: frame numbers restart'],
    ['-c:v libx264 -vf setpts=0.5*PTS', 'setpts changes timestamps'],
    ['-c:v libx264 -pass 1', 'two-pass encodes'],
    ['-c:v libx264 -t 10', 'an output duration would cut every chunk'],
    ['-c:v libx264 -ss 5', 'output seeking'],
    ['-c:v libx264 -frames:v 100', 'a frame limit'],
    ['-map 0:v -c:v libx264', 'streams are mapped by the pipeline'],
    ['-c copy', 'a stream copy is not worth splitting'],
    ['-c:v copy -c:a aac', 'a stream copy is not worth splitting'],
    ['-c:v libx264 -c:s mov_text', 'subtitle and data streams are not carried'],
    ['-c:v libx264 -force_key_frames 0,5', 'the pipeline places each chunk’s first keyframe'],
  ])('refuse %s', (options, reason) => {
    const reasons = refusals(job(options));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(reason);
  });

  it('refuse shapes that cannot be split, with every reason at once', () => {
    const reasons = refusals({
      ...job('-c:v libx264'),
      globalOptions: '-filter_complex "[0:v]scale=640:-2[v]"',
      inputs: [{ url: 's3://media/in/a.mp4', options: '-ss 10' }, { url: 's3://media/in/b.mp4' }],
      outputs: [
        { url: 's3://media/out/hls/', options: '-f hls -c:v libx264' },
        { url: 's3://media/out/b.mp4' },
      ],
    });
    expect(reasons).toEqual([
      'a split job reads exactly one input',
      'a split job writes exactly one output',
      'folder outputs (HLS, DASH, frames) cannot be joined from chunks; write one file',
      'globalOptions -filter_complex: a complex filtergraph spans streams and the whole timeline',
      'inputs[0] -ss: input seeking is not supported with split',
    ]);
  });

  it('refuse switching autorotation off: chunks turn a rotated source upright, pieces carry no display matrix', () => {
    const withInput = (options: string) => ({
      ...job('-c:v libx264'),
      inputs: [{ url: 's3://media/in/a.mp4', options }],
    });
    expect(refusals(withInput('-noautorotate'))).toEqual([
      'inputs[0] -noautorotate: autorotation cannot be switched off with split encodes, which always turn a rotated source upright',
    ]);
    expect(refusals(withInput('-autorotate 0'))).toEqual([
      'inputs[0] -autorotate 0: autorotation cannot be switched off with split encodes, which always turn a rotated source upright',
    ]);
    expect(refusals(withInput('-autorotate 1'))).toEqual([]);
  });

  it('say in the message how to run the job instead', () => {
    try {
      validateJob(job('-c:v libx264 -vf reverse'), pools, {});
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        'this job cannot be encoded in chunks: outputs[0] -vf reverse: reverse needs the whole video. ' +
          'Send it without "split" to encode it in one piece',
      );
    }
  });

  it('check the segment length', () => {
    expect(() => validateJob(job('-c:v libx264', { split: { segmentSeconds: 1 } }), pools, {})).toThrow(
      /split\/segmentSeconds/,
    );
    expect(() => validateJob(job('-c:v libx264', { split: { segments: 4 } }), pools, {})).toThrow(
      /job spec is invalid/,
    );
  });
});

describe('split sources', () => {
  const video = {
    index: 0,
    codec: 'h264',
    width: 1920,
    height: 1080,
    rotation: 0,
    sampleAspectRatio: 1,
    interlaced: false,
    frameRate: 25,
    averageFrameRate: 25,
    variableFrameRate: false,
    startSeconds: 0,
    endSeconds: 10,
    frameTimes: [],
    keyframes: [0],
    colour: {},
    hdrSideData: [],
  };
  const media = { formatName: 'mov,mp4', durationSeconds: 10, audio: [], subtitles: [], otherStreams: 0 };

  /** The options of a split job writing `output`, divided. */
  const split = (output: string) => splitOptions(validateJob(job(output), pools, {}).plan);
  const x265 = split('-c:v libx265 -crf 24 -pix_fmt yuv420p10le');
  // As ffprobe lists MP4's mdcv and clli boxes (or Matroska's MasteringMetadata and MaxCLL).
  const hdr10 = {
    masteringDisplay: {
      red: [0.68, 0.32] as [number, number],
      green: [0.265, 0.69] as [number, number],
      blue: [0.15, 0.06] as [number, number],
      whitePoint: [0.3127, 0.329] as [number, number],
      maxLuminance: 1000,
      minLuminance: 0.005,
    },
    maxCll: 1000,
    maxFall: 400,
  };
  const hdrVideo = {
    ...video,
    colour: { transfer: 'smpte2084' },
    hdrSideData: ['Mastering display metadata', 'Content light level metadata'],
    hdr10,
  };

  it('need a video stream', () => {
    expect(() => checkSplittableMedia({ ...media, video }, x265)).not.toThrow();
    expect(() => checkSplittableMedia(media, x265)).toThrow(
      'this input cannot be encoded in chunks: the input has no video stream. Send the job without "split"',
    );
  });

  it("carry HDR10 metadata that only the container held in every chunk's stream, with libx265 or libsvtav1", () => {
    const hdr = { ...media, video: hdrVideo };
    expect(() => checkSplittableMedia(hdr, x265)).not.toThrow();
    expect(chunkHdr10Params(x265, hdr)).toEqual({
      option: 'x265-params',
      params: [
        'hdr10=1',
        'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)',
        'max-cll=1000,400',
      ],
    });
    expect(chunkHdr10Params(split('-c:v libsvtav1 -crf 30'), hdr)).toEqual({
      option: 'svtav1-params',
      params: [
        'mastering-display=G(0.265,0.69)B(0.15,0.06)R(0.68,0.32)WP(0.3127,0.329)L(1000,0.005)',
        'content-light=1000,400',
      ],
    });
    // Nothing to carry: none in the container, or the output takes another colour.
    expect(chunkHdr10Params(x265, { ...media, video })).toBeUndefined();
    expect(chunkHdr10Params(split('-c:v libx264 -color_trc bt709'), hdr)).toBeUndefined();
    expect(
      chunkHdr10Params(
        split('-c:v libx264 -vf zscale=t=linear,tonemap=hable,zscale=t=bt709,format=yuv420p'),
        hdr,
      ),
    ).toBeUndefined();
    // The job's own parameters stay; the metadata is added to them where it sets none.
    const own = split('-c:v libx265 -x265-params crf=20:max-cll=4000,1000');
    const args = optionArgs(withHdr10Params(own.video, chunkHdr10Params(own, hdr)));
    expect(args[args.indexOf('-x265-params') + 1]).toBe(
      'crf=20:max-cll=4000,1000:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)',
    );
    expect(args.filter((a) => a === '-x265-params')).toHaveLength(1);
  });

  it('refuse HDR10 metadata in the container that the encoder cannot write into its stream', () => {
    const hdr = { ...media, video: hdrVideo };
    for (const [options, encoder] of [
      ['-c:v libx264 -pix_fmt yuv420p10le', 'libx264'],
      ['-c:v hevc_nvenc', 'hevc_nvenc'],
      ['-crf 20', "the format's default encoder"],
    ])
      expect(() => checkSplittableMedia(hdr, split(options!))).toThrow(
        `the input's HDR10 side data (Mastering display metadata, Content light level metadata) would be lost by the join: chunks carry it in their stream with libx265 or libsvtav1, not with ${encoder}`,
      );
    // Side data ffleet cannot read is refused even with libx265: it could not be carried.
    expect(() => checkSplittableMedia({ ...media, video: { ...hdrVideo, hdr10: undefined } }, x265)).toThrow(
      /would be lost by the join: its values could not be read to write them into the chunks' stream/,
    );
  });
});
