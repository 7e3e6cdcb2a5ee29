/**
 * The hostile job corpus: job bodies that try to make ffmpeg read, write or fetch anything
 * but the job's own inputs and outputs, each with the refusal it must get.
 *
 * - stage 'validate': refused by validateJob, i.e. the gateway answers 400 with `error` and a
 *   message matching `message`, and nothing is enqueued. A worker handed the job straight from
 *   the queue refuses it the same way before downloading anything.
 * - stage 'inputs': the body itself is well-formed, the attack is in the bytes of an input.
 *   Store `objects` (URL -> bytes) first; the worker downloads the inputs, checkInputFiles
 *   refuses the job (`message`), ffmpeg never runs, nothing is uploaded.
 *
 * In every case the loopback server at `ctx.loopbackUrl` must receive no request.
 * Run with a URL policy of `corpusPolicy(ctx)` (the bucket allow-list).
 */
import type { UrlPolicy } from '../../services/core/src/storage/url.ts';
import {
  aviWithEmbeddedPlaylist,
  concatList,
  dashManifest,
  hlsMasterPlaylist,
  hlsPlaylist,
  opaqueMedia,
  sdpFile,
} from './hostile-media.ts';

export interface CorpusContext {
  /** The only bucket the fleet allows (FFLEET_ALLOWED_BUCKETS). */
  bucket: string;
  /** Base URL of a loopback HTTP server that must get no request, e.g. http://127.0.0.1:40123 */
  loopbackUrl: string;
}

export type Expectation =
  | { stage: 'validate'; error: 'unsafe_job' | 'invalid_job'; message: RegExp }
  | { stage: 'inputs'; error: 'unsafe_job'; message: RegExp };

export interface HostileCase {
  id: string;
  title: string;
  body: Record<string, unknown>;
  /** Objects to store before submitting, by URL (stage 'inputs'). */
  objects?: Record<string, Uint8Array>;
  expect: Expectation;
}

export function corpusPolicy(ctx: CorpusContext): UrlPolicy {
  return { allowedBuckets: [ctx.bucket] };
}

export function hostileCorpus(ctx: CorpusContext): HostileCase[] {
  const b = ctx.bucket;
  const loop = ctx.loopbackUrl.replace(/\/$/, '');
  const src = `s3://${b}/in/source.mp4`;
  const out = `s3://${b}/out/result.mp4`;
  const job = (id: string, over: Record<string, unknown>): Record<string, unknown> => ({
    name: `hostile-${id}`,
    compute: 'intel',
    inputs: [{ url: src }],
    outputs: [{ url: out }],
    ...over,
  });
  const cases: HostileCase[] = [];
  const refused = (
    id: string,
    title: string,
    over: Record<string, unknown>,
    message: RegExp,
    error: 'unsafe_job' | 'invalid_job' = 'unsafe_job',
  ) => cases.push({ id, title, body: job(id, over), expect: { stage: 'validate', error, message } });
  const outOpts = (options: string) => ({ outputs: [{ url: out, options }] });
  const inOpts = (options: string) => ({ inputs: [{ url: src, options }] });
  const folderOpts = (options: string) => ({ outputs: [{ url: `s3://${b}/out/hls/`, options }] });

  // --- Options that name files --------------------------------------------------------
  refused('input-i', '-i in input options', inOpts('-i /etc/passwd'), /"-i" is refused: -i is not allowed/);
  refused(
    'output-i-url',
    '-i with a loopback URL in output options',
    outOpts(`-i ${loop}/x.mp4 -map 1`),
    /-i is not allowed/,
  );
  refused(
    'global-i-concat',
    '-i with the concat protocol in global options',
    { globalOptions: '-i concat:/etc/passwd|/etc/hosts' },
    /-i is not allowed/,
  );
  refused(
    'filter-script',
    '-filter_script reads a file',
    outOpts('-filter_script /etc/passwd'),
    /-filter_script is not allowed/,
  );
  refused(
    'filter-complex-script',
    '-filter_complex_script reads a file',
    { globalOptions: '-filter_complex_script graph.txt' },
    /-filter_complex_script is not allowed/,
  );
  refused(
    'attach',
    '-attach reads any file into the output',
    outOpts('-attach /etc/passwd -metadata:s:t mimetype=text/plain'),
    /-attach is not allowed/,
  );
  refused(
    'dump-attachment',
    '-dump_attachment writes files',
    inOpts('-dump_attachment:t /tmp/ffleet-dump'),
    /-dump_attachment is not allowed/,
  );
  refused(
    'vstats-file',
    '-vstats_file writes a file',
    { globalOptions: '-vstats_file /tmp/vstats.log' },
    /-vstats_file is not allowed/,
  );
  refused(
    'sdp-file',
    '-sdp_file writes a file',
    { globalOptions: '-sdp_file /tmp/x.sdp' },
    /-sdp_file is not allowed/,
  );
  refused('report', '-report writes a file', { globalOptions: '-report' }, /-report is not allowed/);
  refused(
    'passlogfile-absolute',
    '-passlogfile outside the work dir',
    outOpts('-pass 1 -passlogfile /tmp/ffleet-pass'),
    /-passlogfile "\/tmp\/ffleet-pass" is refused: must be a plain file name/,
  );
  refused(
    'passlogfile-parent',
    '-passlogfile with ..',
    outOpts('-pass 1 -passlogfile ../../pass'),
    /-passlogfile "..\/..\/pass" is refused/,
  );
  refused(
    'progress-url',
    '-progress to a loopback URL',
    { globalOptions: `-progress ${loop}/progress` },
    /-progress is not allowed/,
  );
  refused(
    'protocol-whitelist',
    'widening the protocol whitelist',
    inOpts('-protocol_whitelist file,http,tcp'),
    /-protocol_whitelist is not allowed: ffleet sets it/,
  );
  refused(
    'preset-file',
    '-fpre reads a preset file',
    outOpts('-fpre /etc/passwd'),
    /-fpre is not allowed: it reads a preset file/,
  );

  // --- Filters that open files, devices, libraries or sockets ----------------------------
  refused(
    'vf-movie',
    'movie filter reads a local file',
    outOpts('-vf movie=/etc/passwd'),
    /the movie filter is not allowed/,
  );
  refused(
    'amovie-loopback',
    'amovie filter fetches a loopback URL',
    outOpts(`-filter_complex "amovie='${loop.replace(':', '\\:')}/a.wav'[a]" -map 0:v -map [a]`),
    /the amovie filter is not allowed/,
  );
  refused(
    'movie-quoted-name',
    'filter name smuggled through quoting',
    outOpts(`-vf "'mo''vie'=/etc/passwd"`),
    /the movie filter is not allowed/,
  );
  refused(
    'movie-escaped-name',
    'filter name smuggled through backslash escaping',
    outOpts('-vf "mo\\\\vie=/etc/passwd"'),
    /the movie filter is not allowed/,
  );
  refused(
    'movie-instance-whitespace',
    'movie@id with whitespace and newline',
    outOpts('-filter_complex " \n movie@x = /etc/passwd [v]" -map [v]'),
    /the movie filter is not allowed/,
  );
  refused(
    'movie-second-chain',
    'movie hidden in a second chain',
    outOpts('-filter_complex "[0:v]null[v];movie=/etc/passwd[m]" -map [v]'),
    /the movie filter is not allowed/,
  );
  refused(
    'subtitles',
    'subtitles filter reads a file',
    outOpts('-vf subtitles=/etc/passwd'),
    /the subtitles filter is not allowed/,
  );
  refused('ass', 'ass filter reads a file', outOpts('-vf ass=subs.ass'), /the ass filter is not allowed/);
  refused(
    'lut3d',
    'lut3d reads a LUT file',
    outOpts('-vf lut3d=file=/tmp/grade.cube'),
    /the lut3d filter is not allowed/,
  );
  refused(
    'lut1d',
    'lut1d reads a LUT file',
    outOpts('-vf lut1d=grade.cube'),
    /the lut1d filter is not allowed/,
  );
  refused(
    'sendcmd',
    'sendcmd reads a command file',
    outOpts('-vf "sendcmd=f=/tmp/cmds,drawbox"'),
    /the sendcmd filter is not allowed/,
  );
  refused('zmq', 'zmq opens a socket', outOpts('-vf zmq,null'), /the zmq filter is not allowed/);
  refused(
    'frei0r',
    'frei0r loads a plugin library',
    outOpts('-vf frei0r=distort0r'),
    /the frei0r filter is not allowed/,
  );
  refused(
    'ladspa',
    'ladspa loads a plugin library',
    outOpts('-af ladspa=file=/usr/lib/ladspa/amp.so'),
    /the ladspa filter is not allowed/,
  );
  refused(
    'lv2',
    'lv2 loads a plugin',
    outOpts(`-af "lv2=p=http\\\\://lv2plug.in/plugins/eg-amp"`),
    /the lv2 filter is not allowed/,
  );
  refused(
    'dnn',
    'dnn_processing reads a model file',
    outOpts('-vf dnn_processing=dnn_backend=tensorflow:model=/tmp/m.pb'),
    /the dnn_processing filter is not allowed/,
  );
  refused(
    'drawtext-fontfile',
    'drawtext fontfile',
    outOpts('-vf "drawtext=fontfile=/etc/passwd:text=x"'),
    /the drawtext option "fontfile" names a file/,
  );
  refused(
    'drawtext-textfile',
    'drawtext textfile',
    outOpts('-vf drawtext=textfile=/etc/passwd'),
    /the drawtext option "textfile" names a file/,
  );
  refused(
    'drawtext-positional',
    'drawtext fontfile given positionally',
    outOpts('-vf drawtext=/etc/passwd'),
    /drawtext takes only key=value options here/,
  );
  refused(
    'filter-option-from-file',
    'filter option loaded from a file (/key= syntax)',
    outOpts('-vf "drawtext=/text=/etc/passwd"'),
    /would load its value from a file/,
  );
  refused(
    'escaped-comma',
    'second filter smuggled through an escaped comma',
    outOpts('-vf "drawtext=text=a\\\\,movie=/etc/passwd"'),
    /absolute paths are not allowed/,
  );
  refused(
    'psnr-stats-file',
    'psnr writes a stats file',
    outOpts('-filter_complex "[0:v]split[a][b];[a][b]psnr=stats_file=/tmp/psnr.log" -f null'),
    /the psnr option "stats_file" names a file/,
  );
  refused(
    'unknown-filter',
    'a filter not in the table',
    outOpts('-vf qrencodesrc=textfile=x'),
    /"qrencodesrc" is not a filter ffleet accepts/,
  );

  // --- URLs, protocols, paths -------------------------------------------------------------
  refused(
    'hls-segment-url',
    'segment file name is a loopback URL',
    folderOpts(`-f hls -hls_segment_filename ${loop}/seg%d.ts`),
    /-hls_segment_filename .* must be a plain file name/,
  );
  refused(
    'hls-segment-absolute',
    'segment file name is absolute',
    folderOpts('-f hls -hls_segment_filename /tmp/seg%03d.ts'),
    /must be a plain file name/,
  );
  refused(
    'segment-list-file-protocol',
    'segment list through file:',
    folderOpts('-f segment -segment_list file:/tmp/list.m3u8'),
    /must be a plain file name/,
  );
  refused(
    'hls-key-info',
    'HLS key info file',
    folderOpts('-f hls -hls_key_info_file /etc/passwd'),
    /-hls_key_info_file is not allowed/,
  );
  refused(
    'metadata-url',
    'URL in a metadata value',
    outOpts(`-metadata comment=${loop}/`),
    /URLs are not allowed/,
  );
  refused(
    'stray-output-absolute',
    'extra output path after the options',
    outOpts('-c copy /tmp/evil.mp4'),
    /"\/tmp\/evil.mp4" is refused: it is not an option/,
  );
  refused(
    'stray-output-relative',
    'extra relative output',
    outOpts('-c copy evil.mp4'),
    /would take a bare word as an extra output file/,
  );
  refused(
    'stray-output-url',
    'extra output to a URL',
    outOpts(`-c copy -f mpegts ${loop}/stream`),
    /URLs are not allowed/,
  );
  refused('stray-stdout', 'extra output to stdout', outOpts('-c copy -f mp4 -'), /it means stdin\/stdout/);

  // --- Formats that read lists, devices or the network -------------------------------------
  refused(
    'input-lavfi',
    'lavfi virtual input',
    inOpts('-f lavfi'),
    /lavfi is not allowed as an input format/,
  );
  refused('input-sdp', 'SDP input format', inOpts('-f sdp'), /sdp is not allowed as an input format/);
  refused(
    'input-tty',
    'tty demuxer renders text files',
    inOpts('-f tty'),
    /tty is not allowed as an input format/,
  );
  refused('input-dash', 'DASH manifest input', inOpts('-f dash'), /dash is not allowed as an input format/);
  refused(
    'output-tee',
    'tee muxer writes anywhere',
    outOpts('-f tee'),
    /tee is not allowed as an output format/,
  );
  refused(
    'output-rtp',
    'rtp muxer sends over the network',
    outOpts('-f rtp'),
    /rtp is not allowed as an output format/,
  );
  refused(
    'mov-drefs',
    'MOV external data references',
    inOpts('-enable_drefs 1'),
    /-enable_drefs is not allowed/,
  );

  // --- Smuggling through quoting, = forms and look-alikes ----------------------------------
  refused('quoted-option', '-i written in quotes', outOpts(`-c copy '-i' /etc/passwd`), /-i is not allowed/);
  refused(
    'escaped-option',
    '-i written with a backslash',
    outOpts('-c copy \\-i /etc/passwd'),
    /-i is not allowed/,
  );
  refused(
    'equals-filter-script',
    '-option=value form',
    outOpts('-filter_script=/etc/passwd'),
    /"-option=value" is not ffmpeg syntax/,
  );
  refused(
    'equals-vf',
    '-vf=value form',
    outOpts('-vf=movie=/etc/passwd'),
    /"-option=value" is not ffmpeg syntax/,
  );
  refused('double-dash', '--option form', inOpts('--i /etc/passwd'), /start with a single "-"/);
  refused(
    'option-from-file',
    '-/option loads the value from a file',
    outOpts('-/vf /etc/passwd'),
    /would load the option value from a file/,
  );
  refused(
    'minus-sign',
    'U+2212 minus sign as a dash',
    outOpts('-c copy \u2212i /etc/passwd'),
    /starts with U\+2212 \(minus sign\)/,
  );
  refused(
    'en-dash',
    'U+2013 en dash as a dash',
    outOpts('\u2013filter_script /etc/passwd'),
    /starts with U\+2013 \(en dash\)/,
  );
  refused(
    'fullwidth-hyphen',
    'U+FF0D fullwidth hyphen as a dash',
    inOpts('\uff0di /etc/passwd'),
    /starts with U\+FF0D/,
  );
  refused(
    'cyrillic-letter',
    'Cyrillic letter in an option name',
    outOpts('-\u0456 /etc/passwd'),
    /is not an option ffleet accepts/,
  );
  refused(
    'zero-width-space',
    'zero-width space inside an option name',
    outOpts('-fil\u200bter_script /etc/passwd'),
    /invisible format character U\+200B/,
  );
  refused(
    'no-break-space',
    'no-break space gluing words',
    outOpts('-c:v\u00a0copy\u00a0-i\u00a0/etc/passwd'),
    /non-ASCII space U\+00A0/,
  );
  refused('nul', 'NUL byte in options', outOpts('-c copy\u0000 -i /etc/passwd'), /NUL character/);
  refused(
    'bidi-override',
    'right-to-left override in options',
    outOpts('-metadata title=\u202eevil'),
    /invisible format character U\+202E/,
  );
  refused(
    'proto-key',
    'prototype property as option name',
    outOpts('-__proto__ x'),
    /-__proto__ is not an option ffleet accepts/,
  );
  refused(
    'encoder-params-file',
    'x264 stats file through -x264-params',
    outOpts('-c:v libx264 -x264-params stats=/tmp/x264.log'),
    /sets "stats", which names a file/,
  );
  refused(
    'hw-device-path',
    'device path in -init_hw_device',
    { globalOptions: '-init_hw_device vaapi=va:/dev/dri/renderD128' },
    /device paths are not allowed/,
  );
  refused(
    'hwaccel-device-path',
    'device path in -hwaccel_device',
    inOpts('-hwaccel vaapi -hwaccel_device /dev/dri/card0'),
    /not a path/,
  );

  // --- S3 keys and output names ------------------------------------------------------------
  const urls = (input: string, output = out) => ({ inputs: [{ url: input }], outputs: [{ url: output }] });
  refused('s3-input-parent', '../ in an input key', urls(`s3://${b}/../../etc/passwd`), /".." path segment/);
  refused(
    's3-output-parent',
    '../ in an output key',
    urls(src, `s3://${b}/out/../../../etc/cron.d/x`),
    /".." path segment/,
  );
  refused('s3-absolute-key', 'absolute key', urls(`s3://${b}//etc/passwd`), /must not be absolute/);
  refused(
    's3-backslash',
    'backslash traversal',
    urls(src, `s3://${b}/out\\..\\..\\x.mp4`),
    /control character or backslash/,
  );
  refused('s3-nul', 'NUL in a key', urls(src, `s3://${b}/out/x\u0000.mp4`), /control character or backslash/);
  refused(
    's3-fullwidth-dots',
    'fullwidth full stops as ..',
    urls(src, `s3://${b}/out/\uff0e\uff0e/x.mp4`),
    /reads as "\.\."/,
  );
  refused(
    's3-one-dot-leaders',
    'one-dot leaders as ..',
    urls(src, `s3://${b}/out/\u2024\u2024/x.mp4`),
    /reads as "\.\."/,
  );
  refused(
    's3-division-slash',
    'division slash as /',
    urls(src, `s3://${b}/out/..\u2215..\u2215x.mp4`),
    /Unicode look-alike/,
  );
  refused(
    's3-bidi',
    'right-to-left override in a key',
    urls(src, `s3://${b}/out/\u202e4pm.exe`),
    /invisible Unicode format character/,
  );
  refused(
    's3-long-key',
    'key longer than S3 allows',
    urls(`s3://${b}/${'a/'.repeat(600)}x.mp4`),
    /longer than 1024 bytes/,
  );
  refused(
    'bucket-not-allowed',
    'bucket outside the allow-list',
    urls(src, 's3://someone-elses-bucket/x.mp4'),
    /is not in this fleet's allowed buckets/,
  );
  refused('scheme-http', 'input fetched over HTTP', urls(`${loop}/x.mp4`), /scheme "http" is not allowed/);
  refused(
    'scheme-file',
    'input from the worker file system',
    urls('file:///etc/passwd'),
    /file:\/\/ URLs are disabled/,
  );
  refused(
    'folder-filename-parent',
    'folder output file name with ..',
    { outputs: [{ url: `s3://${b}/out/hls/`, options: '-f hls', filename: '../../escape.m3u8' }] },
    /filename/,
    'invalid_job',
  );
  refused(
    'folder-filename-absolute',
    'folder output file name absolute',
    { outputs: [{ url: `s3://${b}/out/hls/`, options: '-f hls', filename: '/etc/passwd' }] },
    /filename/,
    'invalid_job',
  );

  // --- Limits --------------------------------------------------------------------------------
  refused(
    'too-many-inputs',
    '17 inputs',
    { inputs: Array.from({ length: 17 }, () => ({ url: src })) },
    /job spec is invalid: \/inputs/,
    'invalid_job',
  );
  refused(
    'options-too-long',
    'option string over 4096 characters',
    outOpts(`-metadata title=${'x'.repeat(5000)}`),
    /job spec is invalid: \/outputs\/0\/options/,
    'invalid_job',
  );
  refused(
    'extra-field',
    'unknown field carrying a command',
    { command: 'ffmpeg -i /etc/passwd out.mp4' },
    /job spec is invalid/,
    'invalid_job',
  );
  refused(
    'name-injection',
    'job name with path characters',
    { name: '../../etc/passwd' },
    /job spec is invalid: \/name/,
    'invalid_job',
  );

  // --- Attacks inside input files -------------------------------------------------------------
  const fileCase = (
    id: string,
    title: string,
    inputs: { url: string; options?: string; bytes: Uint8Array }[],
    message: RegExp,
  ) =>
    cases.push({
      id,
      title,
      body: job(id, { inputs: inputs.map(({ url, options }) => (options ? { url, options } : { url })) }),
      objects: Object.fromEntries(inputs.map(({ url, bytes }) => [url, bytes])),
      expect: { stage: 'inputs', error: 'unsafe_job', message },
    });
  const passwdAndLoop = [`${loop}/segment-0.ts`, '/etc/passwd'];
  const seg = (name: string) => ({ url: `s3://${b}/in/${name}`, bytes: opaqueMedia(name) });

  fileCase(
    'hls-disguised-mp4',
    'HLS playlist uploaded as .mp4, pointing at /etc/passwd and a loopback server',
    [{ url: `s3://${b}/in/video.mp4`, bytes: hlsPlaylist(passwdAndLoop) }],
    /is an HLS playlist/,
  );
  fileCase(
    'hls-undeclared-m3u8',
    'HLS playlist input without -f hls',
    [{ url: `s3://${b}/in/stream.m3u8`, bytes: hlsPlaylist(passwdAndLoop) }],
    /is an HLS playlist/,
  );
  fileCase(
    'hls-declared-passwd',
    'declared HLS input listing /etc/passwd',
    [{ url: `s3://${b}/in/index.m3u8`, options: '-f hls', bytes: hlsPlaylist(['/etc/passwd']) }],
    /"\/etc\/passwd": it is not one of the job's inputs/,
  );
  fileCase(
    'hls-declared-loopback',
    'declared HLS input listing a loopback URL',
    [{ url: `s3://${b}/in/index.m3u8`, options: '-f hls', bytes: hlsPlaylist([`${loop}/segment-0.ts`]) }],
    /it is not one of the job's inputs/,
  );
  fileCase(
    'hls-declared-key',
    'declared HLS input with a key URI',
    [
      {
        url: `s3://${b}/in/index.m3u8`,
        options: '-f hls',
        bytes: hlsPlaylist(['seg0.ts'], ['#EXT-X-KEY:METHOD=AES-128,URI="file:///etc/passwd"']),
      },
      seg('seg0.ts'),
    ],
    /encrypted playlists are not accepted/,
  );
  fileCase(
    'hls-declared-master',
    'declared HLS master playlist naming a loopback variant',
    [{ url: `s3://${b}/in/index.m3u8`, options: '-f hls', bytes: hlsMasterPlaylist([`${loop}/v.m3u8`]) }],
    /tag #EXT-X-STREAM-INF is not accepted/,
  );
  fileCase(
    'concat-declared-passwd',
    'declared concat list naming /etc/passwd',
    [{ url: `s3://${b}/in/list.txt`, options: '-f concat', bytes: concatList(['/etc/passwd']) }],
    /file "\/etc\/passwd": it is not one of the job's inputs/,
  );
  fileCase(
    'concat-declared-loopback',
    'declared concat list naming a loopback URL',
    [{ url: `s3://${b}/in/list.txt`, options: '-f concat', bytes: concatList([`${loop}/a.mp4`]) }],
    /it is not one of the job's inputs/,
  );
  fileCase(
    'concat-declared-subfile',
    'declared concat list using subfile:',
    [
      {
        url: `s3://${b}/in/list.txt`,
        options: '-f concat',
        bytes: concatList(['subfile,,start,0,end,0,,:/etc/passwd']),
      },
    ],
    /it is not one of the job's inputs/,
  );
  fileCase(
    'concat-declared-traversal',
    "declared concat list reaching another job's work dir",
    [
      {
        url: `s3://${b}/in/list.txt`,
        options: '-f concat',
        bytes: concatList(['../../../other-job/in/0/secret.mp4']),
      },
    ],
    /it is not one of the job's inputs/,
  );
  fileCase(
    'concat-declared-option',
    'declared concat list with an option directive',
    [
      {
        url: `s3://${b}/in/list.txt`,
        options: '-f concat',
        bytes: concatList(['a.mp4'], { extra: ['option protocol_whitelist file,http,tcp'] }),
      },
      seg('a.mp4'),
    ],
    /directive "option" is not accepted/,
  );
  fileCase(
    'concat-disguised-mp4',
    'ffconcat script uploaded as .mp4',
    [{ url: `s3://${b}/in/video.mp4`, bytes: concatList(passwdAndLoop) }],
    /is an ffconcat script/,
  );
  fileCase(
    'avi-disguised-playlist',
    'HLS playlist uploaded as .avi',
    [{ url: `s3://${b}/in/movie.avi`, bytes: hlsPlaylist(passwdAndLoop) }],
    /is an HLS playlist/,
  );
  fileCase(
    'avi-gab2-playlist',
    'AVI with an HLS playlist embedded in a GAB2 subtitle stream',
    [{ url: `s3://${b}/in/movie.avi`, bytes: aviWithEmbeddedPlaylist(hlsPlaylist(passwdAndLoop)) }],
    /embeds a playlist/,
  );
  fileCase(
    'dash-disguised-mp4',
    'DASH manifest uploaded as .mp4',
    [{ url: `s3://${b}/in/video.mp4`, bytes: dashManifest(`${loop}/`) }],
    /is an XML manifest/,
  );
  fileCase(
    'sdp-disguised-mp4',
    'SDP file uploaded as .mp4',
    [{ url: `s3://${b}/in/video.mp4`, bytes: sdpFile(Number(new URL(loop).port) || 5004) }],
    /is an SDP session description/,
  );

  return cases;
}
