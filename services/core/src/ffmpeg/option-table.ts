import type { ValueKind } from './option-values.ts';

/**
 * The ffmpeg options ffleet accepts, as data. Anything not listed is refused with a 400
 * that names the token. Derived from FFmpeg's documentation (ffmpeg(1) main options,
 * ffmpeg-formats(1) muxer/demuxer options, ffmpeg-codecs(1) encoder options) for the
 * options a transcoding job needs; options that read or write arbitrary files, talk to the
 * network or change ffleet's own hardening are in REFUSED_OPTIONS with the reason.
 *
 * Each entry says where the option may be written and what value it takes:
 *   scopes     'global' options may be written in any option string (ffmpeg applies them to
 *              the whole command wherever they appear); 'input' options only in
 *              inputs[i].options; 'output' options only in outputs[i].options.
 *   value      the value kind (option-values.ts); { kind: 'none' } for switches.
 *   perStream  the option takes a stream specifier suffix: -c:v, -b:a:0, -metadata:s:a:0.
 *
 * To extend: find the option in `ffmpeg -h full` (or `ffmpeg -h encoder=NAME`,
 * `-h muxer=NAME`), make sure it cannot name a file, a device or a URL, pick the narrowest
 * value kind, add a line here and an accepted example to test/security/accepted.ts.
 */

export type Scope = 'global' | 'input' | 'output';

export interface OptionDef {
  scopes: readonly Scope[];
  value: ValueKind;
  perStream?: boolean;
}

const G: readonly Scope[] = ['global'];
const I: readonly Scope[] = ['input'];
const O: readonly Scope[] = ['output'];
const IO: readonly Scope[] = ['input', 'output'];

const none: ValueKind = { kind: 'none' };
const int: ValueKind = { kind: 'int' };
const number: ValueKind = { kind: 'number' };
const time: ValueKind = { kind: 'time' };
const size: ValueKind = { kind: 'size' };
const rate: ValueKind = { kind: 'rate' };
const amount: ValueKind = { kind: 'amount' };
const name: ValueKind = { kind: 'name' };
const flags: ValueKind = { kind: 'flags' };
const format: ValueKind = { kind: 'format' };
const filtergraph: ValueKind = { kind: 'filtergraph' };
const outputPath: ValueKind = { kind: 'outputPath' };
const outputName: ValueKind = { kind: 'outputName' };
const ints = (min: number, max: number): ValueKind => ({ kind: 'int', min, max });
const oneOf = (...values: string[]): ValueKind => ({ kind: 'enum', values });
const pattern = (re: RegExp, hint: string): ValueKind => ({ kind: 'pattern', pattern: re, hint });

/** Encoder parameter keys that read or write files (x264, x265, SVT-AV1, libaom). */
const FILE_PARAMS = [
  'stats',
  'qpfile',
  'dump-yuv',
  'tcfile-in',
  'tcfile-out',
  'cqmfile',
  'csv',
  'analysis-save',
  'analysis-load',
  'analysis-reuse-file',
  'zonefile',
  'scaling-list',
  'lambda-file',
  'dolby-vision-rpu',
  'dhdr10-info',
  'recon',
  'fgs-table',
  'stat-file',
  'input-stat-file',
  'output-stat-file',
  'mastering-display-file',
  'film-grain-table',
];
const params: ValueKind = { kind: 'params', deniedKeys: FILE_PARAMS };

const o = (scopes: readonly Scope[], value: ValueKind, perStream = false): OptionDef =>
  perStream ? { scopes, value, perStream } : { scopes, value };
const codecOpt = (value: ValueKind): OptionDef => o(O, value, true);

export const OPTIONS: Readonly<Record<string, OptionDef>> = {
  // Main options that apply to the whole command.
  y: o(G, none),
  hide_banner: o(G, none),
  nostdin: o(G, none),
  stats: o(G, none),
  nostats: o(G, none),
  stats_period: o(G, time),
  loglevel: o(
    G,
    pattern(/^(repeat\+|level\+|[+-]?(repeat|level)\+?)*([a-z]{1,8}|-?\d{1,2})$/, 'a log level'),
  ),
  v: o(G, pattern(/^(repeat\+|level\+|[+-]?(repeat|level)\+?)*([a-z]{1,8}|-?\d{1,2})$/, 'a log level')),
  benchmark: o(G, none),
  xerror: o(G, none),
  abort_on: o(G, flags),
  max_error_rate: o(G, { kind: 'number', min: 0, max: 1 }),
  copyts: o(G, none),
  start_at_zero: o(G, none),
  copytb: o(G, ints(-1, 1)),
  vsync: o(G, oneOf('passthrough', 'cfr', 'vfr', 'drop', 'auto', '-1', '0', '1', '2')),
  filter_complex: o(G, filtergraph),
  lavfi: o(G, filtergraph),
  filter_threads: o(G, ints(0, 256)),
  filter_complex_threads: o(G, ints(0, 256)),
  sws_flags: o(G, flags),
  ignore_unknown: o(G, none),
  copy_unknown: o(G, none),
  init_hw_device: o(
    G,
    pattern(
      /^[a-z0-9]{2,16}(=[A-Za-z0-9_]{1,32})?(:[A-Za-z0-9_.,=]{0,64})?(@[A-Za-z0-9_]{1,32})?$/,
      'a device such as cuda=gpu:0 (device paths are not allowed)',
    ),
  ),
  filter_hw_device: o(G, name),
  xlnx_hwdev: o(G, ints(0, 255)),

  // Per-file options that make sense on inputs and outputs.
  ss: o(IO, time),
  t: o(IO, time),
  to: o(IO, time),
  c: o(IO, name, true),
  codec: o(IO, name, true),
  vcodec: o(IO, name),
  acodec: o(IO, name),
  scodec: o(IO, name),
  dcodec: o(IO, name),
  f: o(IO, format),
  r: o(IO, rate, true),
  s: o(IO, size, true),
  pix_fmt: o(IO, name, true),
  ar: o(IO, ints(1, 768_000), true),
  ac: o(IO, ints(1, 64), true),
  channel_layout: o(IO, pattern(/^[A-Za-z0-9_.+()|-]{1,64}$/, 'a channel layout such as stereo'), true),
  ch_layout: o(IO, pattern(/^[A-Za-z0-9_.+()|-]{1,64}$/, 'a channel layout such as stereo'), true),
  sample_fmt: o(IO, name, true),
  an: o(IO, none),
  vn: o(IO, none),
  sn: o(IO, none),
  dn: o(IO, none),
  threads: o(IO, pattern(/^(auto|\d{1,3})$/, 'a thread count or auto'), true),
  fflags: o(IO, flags),
  flags: o(IO, flags, true),
  loop: o(IO, ints(-1, 1_000_000)),
  color_range: o(IO, name, true),
  colorspace: o(IO, name, true),
  color_primaries: o(IO, name, true),
  color_trc: o(IO, name, true),
  lxlnx_hwdev: o(IO, ints(0, 255)),

  // Input options.
  sseof: o(I, time),
  itsoffset: o(I, time),
  itsscale: o(I, number, true),
  re: o(I, none),
  readrate: o(I, { kind: 'number', min: 0 }),
  stream_loop: o(I, ints(-1, 1_000_000)),
  accurate_seek: o(I, none),
  noaccurate_seek: o(I, none),
  // Both take a value (`-autorotate 0`), not a bare flag.
  seek_timestamp: o(I, ints(0, 1)),
  autorotate: o(I, ints(0, 1), true),
  noautorotate: o(I, none),
  discard: o(I, name, true),
  skip_frame: o(I, name, true),
  analyzeduration: o(I, amount),
  probesize: o(I, amount),
  fpsprobesize: o(I, int),
  framerate: o(I, rate),
  guess_layout_max: o(I, ints(0, 64)),
  reinit_filter: o(I, ints(-1, 1), true),
  ignore_editlist: o(I, ints(0, 1)),
  hwaccel: o(
    I,
    oneOf('none', 'auto', 'cuda', 'nvdec', 'cuvid', 'vaapi', 'qsv', 'vdpau', 'vulkan', 'opencl', 'drm'),
    true,
  ),
  hwaccel_output_format: o(I, name, true),
  hwaccel_device: o(I, pattern(/^[A-Za-z0-9_.]{1,32}$/, 'a device index or name (not a path)'), true),
  extra_hw_frames: o(I, ints(0, 256), true),
  // NVDEC (cuvid) decoder options.
  deint: o(I, oneOf('weave', 'bob', 'adaptive'), true),
  drop_second_field: o(I, ints(0, 1), true),
  resize: o(I, size, true),
  crop: o(I, pattern(/^\d{1,5}x\d{1,5}x\d{1,5}x\d{1,5}$/, 'top x bottom x left x right'), true),
  surfaces: o(IO, ints(0, 64), true),

  // Output options.
  map: o(O, { kind: 'map' }),
  map_metadata: o(O, { kind: 'mapMetadata' }, true),
  map_chapters: o(O, ints(-1, 99)),
  metadata: o(O, { kind: 'metadata' }, true),
  disposition: o(O, flags, true),
  shortest: o(O, none),
  fs: o(O, amount),
  frames: o(O, ints(0, 1_000_000_000), true),
  vframes: o(O, ints(0, 1_000_000_000)),
  aframes: o(O, ints(0, 1_000_000_000)),
  dframes: o(O, ints(0, 1_000_000_000)),
  vf: o(O, filtergraph),
  af: o(O, filtergraph),
  filter: o(O, filtergraph, true),
  aspect: o(O, { kind: 'ratio' }, true),
  fps_mode: o(O, oneOf('passthrough', 'cfr', 'vfr', 'drop', 'auto'), true),
  force_key_frames: o(
    O,
    pattern(
      /^(source|expr:[A-Za-z0-9_(),.*+\-/<>=!&| ]{1,256}|[\d:.,]{1,1024})$/,
      'a list of times, expr:<expression> or source',
    ),
    true,
  ),
  enc_time_base: o(
    O,
    pattern(/^(-1|0|demux|filter|\d{1,9}(\/\d{1,9})?)$/, 'a time base such as 1/90000'),
    true,
  ),
  timecode: o(O, pattern(/^\d{2}:\d{2}:\d{2}[:;.]\d{2}$/, 'a timecode such as 01:00:00:00')),
  tag: o(O, pattern(/^([A-Za-z0-9]{4}|0x[0-9A-Fa-f]{1,8})$/, 'a four-character code such as hvc1'), true),
  bsf: o(
    O,
    pattern(
      /^[a-z0-9_]{1,40}(=[A-Za-z0-9_.=]{1,64}(:[A-Za-z0-9_.=]{1,64})*)?(,[a-z0-9_]{1,40}(=[A-Za-z0-9_.=]{1,64}(:[A-Za-z0-9_.=]{1,64})*)?)*$/,
      'a bitstream filter chain such as h264_mp4toannexb',
    ),
    true,
  ),
  max_muxing_queue_size: o(O, ints(1, 1_048_576), true),
  muxdelay: o(O, { kind: 'number', min: 0 }),
  muxpreload: o(O, { kind: 'number', min: 0 }),
  max_interleave_delta: o(O, ints(0, 1_000_000_000_000)),
  avoid_negative_ts: o(O, oneOf('auto', 'disabled', 'make_non_negative', 'make_zero', '-1', '0', '1', '2')),
  strict: o(O, pattern(/^(very|strict|normal|unofficial|experimental|-?[0-2])$/, 'a strictness level'), true),
  pass: o(O, ints(1, 3), true),
  passlogfile: o(O, { kind: 'scratchPath' }, true),

  // Encoder options (generic AVCodecContext options and common private ones).
  b: codecOpt(amount),
  ab: o(O, amount),
  vb: o(O, amount),
  maxrate: codecOpt(amount),
  minrate: codecOpt(amount),
  bufsize: codecOpt(amount),
  crf: codecOpt({ kind: 'number', min: -1, max: 63 }),
  qp: codecOpt(ints(-1, 255)),
  cq: codecOpt({ kind: 'number', min: 0, max: 51 }),
  q: codecOpt(number),
  qscale: codecOpt(number),
  qmin: codecOpt(ints(-1, 255)),
  qmax: codecOpt(ints(-1, 255)),
  global_quality: codecOpt(int),
  aq: codecOpt(number),
  preset: codecOpt(name),
  tune: codecOpt(name),
  profile: codecOpt(name),
  level: codecOpt(name),
  tier: codecOpt(name),
  g: codecOpt(ints(-1, 100_000)),
  keyint_min: codecOpt(ints(-1, 100_000)),
  sc_threshold: codecOpt(ints(-1_000_000_000, 1_000_000_000)),
  bf: codecOpt(ints(-1, 16)),
  refs: codecOpt(ints(0, 16)),
  b_strategy: codecOpt(ints(0, 2)),
  coder: codecOpt(name),
  field_order: codecOpt(name),
  compression_level: codecOpt(int),
  frame_size: codecOpt(ints(0, 1_000_000)),
  cutoff: codecOpt(ints(0, 192_000)),
  'x264-params': codecOpt(params),
  x264opts: codecOpt(params),
  'x265-params': codecOpt(params),
  'svtav1-params': codecOpt(params),
  'aom-params': codecOpt(params),
  // libx264 / libx265
  'aq-mode': codecOpt(ints(-1, 4)),
  'aq-strength': codecOpt({ kind: 'number', min: -1, max: 15 }),
  'rc-lookahead': codecOpt(ints(-1, 250)),
  'forced-idr': codecOpt(ints(-1, 1)),
  'no-scenecut': codecOpt(ints(-1, 1)),
  // NVENC
  rc: codecOpt(name),
  spatial_aq: codecOpt(ints(0, 1)),
  'spatial-aq': codecOpt(ints(0, 1)),
  temporal_aq: codecOpt(ints(0, 1)),
  'temporal-aq': codecOpt(ints(0, 1)),
  b_ref_mode: codecOpt(name),
  multipass: codecOpt(name),
  zerolatency: codecOpt(ints(0, 1)),
  gpu: codecOpt(ints(-2, 64)),
  delay: codecOpt(ints(0, 64)),
  nonref_p: codecOpt(ints(0, 1)),
  strict_gop: codecOpt(ints(0, 1)),
  weighted_pred: codecOpt(ints(0, 1)),
  // libvpx, libaom, SVT-AV1
  'row-mt': codecOpt(ints(-1, 1)),
  'tile-columns': codecOpt(ints(-1, 6)),
  'tile-rows': codecOpt(ints(-1, 6)),
  'cpu-used': codecOpt(ints(-16, 16)),
  deadline: codecOpt(oneOf('best', 'good', 'realtime')),
  quality: codecOpt(name),
  'lag-in-frames': codecOpt(ints(-1, 64)),
  'auto-alt-ref': codecOpt(ints(-1, 6)),
  'frame-parallel': codecOpt(ints(-1, 1)),
  // QSV / VAAPI
  look_ahead: codecOpt(ints(0, 1)),
  look_ahead_depth: codecOpt(ints(0, 100)),
  async_depth: codecOpt(ints(1, 64)),
  rc_mode: codecOpt(name),
  // Xilinx U30 (mpsoc_vcu_*) encoders
  cores: codecOpt(ints(0, 4)),
  slices: codecOpt(ints(1, 32)),
  'periodicity-idr': codecOpt(ints(-1, 100_000)),
  lookahead_depth: codecOpt(ints(0, 20)),
  'qp-mode': codecOpt(name),
  'tune-metrics': codecOpt(ints(0, 1)),
  // Audio encoders
  vbr: codecOpt(name),
  application: codecOpt(oneOf('voip', 'audio', 'lowdelay')),
  frame_duration: codecOpt(number),
  aac_coder: codecOpt(name),

  // mp4 / mov muxer
  movflags: o(O, flags),
  brand: o(O, name),
  frag_duration: o(O, number),
  min_frag_duration: o(O, int),
  frag_size: o(O, int),
  write_tmcd: o(O, ints(-1, 1)),
  use_editlist: o(O, ints(-1, 1)),
  // mpegts muxer
  mpegts_flags: o(O, flags),
  mpegts_copyts: o(O, ints(-1, 1)),
  muxrate: o(O, amount),
  // mp3 muxer
  id3v2_version: o(O, ints(0, 4)),
  write_id3v1: o(O, ints(0, 1)),
  // gif muxer
  final_delay: o(O, ints(-1, 65_535)),

  // hls muxer
  hls_time: o(O, { kind: 'number', min: 0 }),
  hls_init_time: o(O, { kind: 'number', min: 0 }),
  hls_list_size: o(O, ints(0, 1_000_000)),
  hls_delete_threshold: o(O, ints(1, 1_000_000)),
  hls_playlist_type: o(O, oneOf('event', 'vod')),
  hls_segment_type: o(O, oneOf('mpegts', 'fmp4')),
  hls_segment_filename: o(O, outputPath),
  hls_fmp4_init_filename: o(O, outputName),
  hls_subtitle_path: o(O, outputPath),
  hls_flags: o(O, flags),
  hls_start_number_source: o(O, oneOf('generic', 'epoch', 'epoch_us', 'datetime')),
  hls_allow_cache: o(O, ints(-1, 1)),
  hls_segment_size: o(O, ints(0, 2_000_000_000)),
  start_number: o(O, ints(0, 2_000_000_000)),
  master_pl_name: o(O, outputName),
  master_pl_publish_rate: o(O, ints(0, 1_000_000)),
  var_stream_map: o(O, pattern(/^[A-Za-z0-9_:,. -]{1,512}$/, 'a stream map such as "v:0,a:0 v:1,a:1"')),
  cc_stream_map: o(O, pattern(/^[A-Za-z0-9_:,. -]{1,512}$/, 'a closed-caption stream map')),
  strftime: o(O, ints(0, 1)),

  // dash muxer
  seg_duration: o(O, { kind: 'number', min: 0 }),
  frag_type: o(O, oneOf('none', 'every_frame', 'duration', 'pframes')),
  window_size: o(O, ints(0, 1_000_000)),
  extra_window_size: o(O, ints(0, 1_000_000)),
  use_template: o(O, ints(0, 1)),
  use_timeline: o(O, ints(0, 1)),
  single_file: o(O, ints(0, 1)),
  single_file_name: o(O, outputName),
  init_seg_name: o(O, outputName),
  media_seg_name: o(O, outputName),
  adaptation_sets: o(
    O,
    pattern(/^[A-Za-z0-9_=,: -]{1,512}$/, 'adaptation sets such as "id=0,streams=v id=1,streams=a"'),
  ),
  dash_segment_type: o(O, oneOf('auto', 'mp4', 'webm')),
  hls_playlist: o(O, ints(0, 1)),
  hls_master_name: o(O, outputName),
  streaming: o(O, ints(0, 1)),
  ldash: o(O, ints(0, 1)),
  lhls: o(O, ints(0, 1)),
  index_correction: o(O, ints(0, 1)),
  global_sidx: o(O, ints(0, 1)),
  write_prft: o(O, ints(-1, 1)),
  remove_at_exit: o(O, ints(0, 1)),
  mpd_profile: o(O, flags),
  target_latency: o(O, { kind: 'number', min: 0 }),
  min_playback_rate: o(O, rate),
  max_playback_rate: o(O, rate),
  update_period: o(O, ints(0, 1_000_000)),

  // segment muxer
  segment_time: o(O, time),
  segment_times: o(O, pattern(/^[\d:.,]{1,4096}$/, 'a comma-separated list of times')),
  segment_frames: o(O, pattern(/^[\d,]{1,4096}$/, 'a comma-separated list of frame numbers')),
  segment_time_delta: o(O, time),
  segment_format: o(O, format),
  segment_list: o(O, outputPath),
  segment_list_type: o(O, oneOf('flat', 'csv', 'ext', 'ffconcat', 'm3u8', 'hls')),
  segment_list_size: o(O, ints(0, 1_000_000)),
  segment_list_flags: o(O, flags),
  segment_start_number: o(O, ints(0, 2_000_000_000)),
  segment_wrap: o(O, ints(0, 1_000_000)),
  reset_timestamps: o(O, ints(0, 1)),
  break_non_keyframes: o(O, ints(0, 1)),
  increment_tc: o(O, ints(0, 1)),

  // image2 muxer
  update: o(O, ints(0, 1)),
  frame_pts: o(O, ints(0, 1)),
  atomic_writing: o(O, ints(0, 1)),
};

/**
 * Options that are never accepted, with the reason given to the caller. Listing them is not
 * what refuses them (anything missing from OPTIONS is refused); it makes the error clear.
 */
export const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  i: 'inputs come only from inputs[]; add another input there',
  filter_script: 'it reads a filtergraph from a file; put the filtergraph in -vf/-af/-filter_complex',
  filter_complex_script: 'it reads a filtergraph from a file; put the filtergraph in -filter_complex',
  attach: 'it attaches an arbitrary file to the output',
  dump_attachment: 'it writes attachments to arbitrary files',
  vstats: 'it writes a statistics file',
  vstats_file: 'it writes a statistics file',
  vstats_version: 'it configures a statistics file',
  sdp_file: 'it writes an SDP file',
  report: 'it writes a report file',
  progress: 'ffleet reads progress itself',
  fpre: 'it reads a preset file',
  vpre: 'it reads a preset file',
  apre: 'it reads a preset file',
  spre: 'it reads a preset file',
  pre: 'it reads a preset file',
  protocol_whitelist: 'ffleet sets it: inputs are read from local files only',
  protocol_blacklist: 'ffleet sets the protocol whitelist',
  format_whitelist: 'ffleet sets it per input',
  safe: 'ffleet checks and rewrites concat lists itself',
  pattern_type: 'glob and sequence patterns can read other files; each input is one object',
  allowed_extensions: 'ffleet checks HLS inputs itself',
  allowed_segment_extensions: 'ffleet checks HLS inputs itself',
  enable_drefs: 'it lets a MOV file reference other files',
  use_absolute_path: 'it lets a MOV file reference absolute paths',
  hls_key_info_file: 'it reads a key info file',
  hls_enc_key_url: 'it writes a URL into the playlist',
  hls_base_url: 'it writes a URL into the playlist',
  segment_list_entry_prefix: 'it writes a URL prefix into the segment list',
  utc_timing_url: 'it writes a URL into the manifest',
  method: 'outputs are uploaded by ffleet, not written over HTTP',
  headers: 'ffleet does not make HTTP requests for ffmpeg',
  user_agent: 'ffleet does not make HTTP requests for ffmpeg',
  http_proxy: 'ffleet does not make HTTP requests for ffmpeg',
  cookies: 'ffleet does not make HTTP requests for ffmpeg',
  stdin: 'ffmpeg never reads stdin in ffleet',
  dump: 'it dumps packets to the log',
  timelimit: 'ffleet enforces the job timeout itself',
  cpuflags: 'it changes the worker CPU feature detection',
  max_alloc: 'it changes the worker allocator limits',
  target: 'use explicit codec options instead',
};

/** Input formats that read lists of other files; allowed only through the list check. */
export const LIST_DEMUXERS = ['concat', 'hls'] as const;
export type ListDemuxer = (typeof LIST_DEMUXERS)[number];

/**
 * Demuxers a job may name with `-f` on an input, and the `-format_whitelist` ffleet sets on
 * every input so probing can never pick a demuxer that reads other files (hls, concat, dash,
 * imf, sdp, rtp…) or devices, even for input formats named in a nested file.
 */
export const MEDIA_DEMUXERS: readonly string[] = (
  'aac ac3 aiff alaw amr amrnb amrwb apng asf ass au av1 avi caf dirac dnxhd dts dtshd dv eac3 ' +
  'f32be f32le f64be f64le ffmetadata flac flv g722 gif gsm gxf h261 h263 h264 hevc image2 ' +
  'image2pipe ivf loas m4v matroska webm mjpeg mjpeg_2000 mlp mov mp4 m4a 3gp 3g2 mp3 mpeg ' +
  'mpegts mpegvideo mulaw mxf nut obu ogg rawvideo s16be s16le s24be s24le s32be s32le s8 sbc ' +
  'srt sup truehd tta u16be u16le u24be u24le u32be u32le u8 vc1 w64 wav webvtt wv yuv4mpegpipe ' +
  'bmp_pipe dpx_pipe exr_pipe gif_pipe j2k_pipe jpeg_pipe jpegls_pipe jpegxl_pipe pam_pipe ' +
  'pbm_pipe pgm_pipe ppm_pipe png_pipe qoi_pipe tiff_pipe webp_pipe'
).split(' ');

/** Muxers a job may name with `-f` on an output (or `-segment_format`). */
export const MUXERS: readonly string[] = (
  '3g2 3gp ac3 adts aiff alaw amr apng asf ass ast au avi avif caf crc dash data dirac dnxhd dts ' +
  'dv eac3 f32be f32le f4v f64be f64le ffmetadata flac flv framecrc framehash framemd5 gif gxf ' +
  'h261 h263 h264 hash hevc hls image2 image2pipe ipod ismv ivf latm m4v matroska md5 mjpeg mlp ' +
  'mov mp2 mp3 mp4 mpeg mpeg1video mpeg2video mpegts mulaw mxf mxf_d10 mxf_opatom null nut obu ' +
  'oga ogg ogv opus psp rawvideo s16be s16le s24be s24le s32be s32le s8 sbc segment ssegment ' +
  'stream_segment smjpeg spx srt streamhash sup svcd truehd tta ttml u16be u16le u24be u24le ' +
  'u32be u32le u8 vc1 vcd vob voc w64 wav webm webp webvtt wv yuv4mpegpipe'
).split(' ');

/** Why some formats are refused, for a clearer error than "not accepted". */
export const REFUSED_FORMATS: Readonly<Record<string, string>> = {
  lavfi:
    'virtual lavfi inputs are expressed as source filters instead, e.g. ' +
    '-filter_complex "anullsrc=channel_layout=stereo:sample_rate=44100[a]" -map 0:v -map "[a]"',
  tee: 'it writes to outputs named inside its argument',
  fifo: 'it wraps another muxer writing anywhere',
  rtp: 'it sends over the network',
  rtp_mpegts: 'it sends over the network',
  rtsp: 'it uses the network',
  sap: 'it sends over the network',
  sdp: 'it opens network streams',
  dash: 'DASH manifests as inputs open other files',
  imf: 'IMF compositions open other files',
  tty: 'it renders arbitrary text files as video',
  bin: 'it renders arbitrary files as video',
  xbin: 'it renders arbitrary files as video',
};
