import { describe, expect, it } from 'vitest';
import { MEDIA_DEMUXERS, MUXERS, OPTIONS, REFUSED_OPTIONS } from '../src/ffmpeg/option-table.ts';
import { type OptionContext, parseOptionString, parseOptions } from '../src/ffmpeg/options.ts';
import { tokenize } from '../src/ffmpeg/tokenize.ts';

const output: OptionContext = { field: 'outputs[0].options', scope: 'output', inputCount: 2 };
const input: OptionContext = { field: 'inputs[0].options', scope: 'input', inputCount: 2 };
const global: OptionContext = { field: 'globalOptions', scope: 'global', inputCount: 2 };

const parse = (text: string, ctx: OptionContext) => parseOptions(tokenize(text, ctx.field), ctx);

describe('parseOptions', () => {
  it('reads options and their values with the table, keeping stream specifiers', () => {
    expect(parse('-c:v libx264 -b:a:0 128k -an -metadata:s:a:0 language=eng', output)).toEqual([
      { token: '-c:v', name: 'c', specifier: 'v', value: 'libx264', kind: 'name' },
      { token: '-b:a:0', name: 'b', specifier: 'a:0', value: '128k', kind: 'amount' },
      { token: '-an', name: 'an', kind: 'none' },
      {
        token: '-metadata:s:a:0',
        name: 'metadata',
        specifier: 's:a:0',
        value: 'language=eng',
        kind: 'metadata',
      },
    ]);
  });

  it.each([
    ['-ss 00:00:10 -t 00:00:15 -c:v copy -c:a copy', output],
    ['-ss 10 -to 1:30.5 -itsoffset -0.5 -sseof -10', input],
    ['-c:v libx264 -preset veryfast -crf 23 -profile:v high -level 4.1 -pix_fmt yuv420p', output],
    ['-vf scale=-2:720 -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart', output],
    ['-g 48 -keyint_min 48 -sc_threshold 0 -bf 3 -refs 4 -maxrate 5M -bufsize 10M', output],
    ['-x264-params keyint=60:min-keyint=60:scenecut=0:deblock=-1,-1', output],
    [
      '-x265-params hdr10-opt=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)',
      output,
    ],
    ['-c:v libsvtav1 -preset 8 -crf 35 -svtav1-params tune=0:film-grain=8', output],
    ['-c:v libvpx-vp9 -b:v 0 -crf 31 -row-mt 1 -deadline good -cpu-used 2', output],
    ['-c:v h264_nvenc -preset p4 -tune hq -rc vbr -cq 23 -b:v 0 -spatial_aq 1 -rc-lookahead 20', output],
    ['-hwaccel cuda -hwaccel_output_format cuda -c:v h264_cuvid', input],
    ['-c:v mpsoc_vcu_h264 -lxlnx_hwdev 0', input],
    ['-f hls -hls_time 6 -hls_playlist_type vod -hls_segment_filename seg_%03d.ts', output],
    [
      '-f dash -seg_duration 2 -init_seg_name init-$RepresentationID$.$ext$ -adaptation_sets "id=0,streams=v id=1,streams=a"',
      output,
    ],
    ['-map 0:v:0 -map 1:a? -map -0:s -map [out] -map_metadata -1 -shortest', output],
    ['-filter_complex "[0:v][1:v]hstack[v]" -map [v]', output],
    ['-y -hide_banner -loglevel error -filter_threads 2 -stats_period 1', global],
    ['-force_key_frames expr:gte(t,n_forced*2) -fps_mode cfr -r 30000/1001 -s 1280x720 -aspect 16:9', output],
    ['-f image2 -frames:v 1 -q:v 2 -update 1', output],
    ['-metadata "title=My: Movie" -disposition:a:0 default', output],
    ['-init_hw_device cuda=gpu:0 -filter_hw_device gpu', global],
    ['-f concat', input],
    ['-pass 1 -passlogfile pass1', output],
  ])('accepts %s', (text, ctx) => {
    expect(() => parse(text, ctx)).not.toThrow();
  });

  it.each([
    ['-i /etc/passwd', input, /-i is not allowed: inputs come only from inputs\[\]/],
    ['-c copy -i x.mp4', output, /"-i" is refused/],
    ['-filter_script graph.txt', output, /-filter_script is not allowed: it reads a filtergraph from a file/],
    ['-filter_complex_script g.txt', global, /-filter_complex_script is not allowed/],
    ['-attach /etc/passwd', output, /-attach is not allowed/],
    ['-dump_attachment:t out.ttf', input, /-dump_attachment is not allowed/],
    ['-vstats_file /tmp/v.log', global, /-vstats_file is not allowed/],
    ['-sdp_file x.sdp', global, /-sdp_file is not allowed/],
    ['-report', global, /-report is not allowed/],
    ['-progress http://127.0.0.1:1/', global, /-progress is not allowed/],
    ['-protocol_whitelist file,http,tcp', input, /-protocol_whitelist is not allowed: ffleet sets it/],
    ['-safe 0', input, /-safe is not allowed/],
    ['-passlogfile /tmp/pass', output, /-passlogfile "\/tmp\/pass" is refused: must be a plain file name/],
    ['-passlogfile ../../pass', output, /must be a plain file name/],
    ['-hls_segment_filename /tmp/seg%d.ts', output, /must be a plain file name/],
    ['-hls_segment_filename http://127.0.0.1/seg%d.ts', output, /must be a plain file name/],
    ['-segment_list file:list.m3u8', output, /must be a plain file name/],
    ['-hls_key_info_file key.info', output, /-hls_key_info_file is not allowed/],
    ['-hls_base_url http://evil/', output, /-hls_base_url is not allowed/],
    [
      '-f lavfi',
      input,
      /lavfi is not allowed as an input format: virtual lavfi inputs are expressed as source filters/,
    ],
    ['-f sdp', input, /sdp is not allowed as an input format: it opens network streams/],
    ['-f tty', input, /renders arbitrary text files/],
    ['-f tee', output, /tee is not allowed as an output format/],
    ['-f rtp', output, /it sends over the network/],
    ['-f nosuchformat', output, /nosuchformat is not an output format ffleet accepts/],
    ['-c copy /tmp/evil.mp4', output, /"\/tmp\/evil.mp4" is refused: it is not an option \(absolute paths/],
    ['-c copy extra.mp4', output, /ffmpeg would take a bare word as an extra output file/],
    ['-c copy -', output, /it means stdin\/stdout/],
    ['--i x', input, /start with a single "-"/],
    ['-/vf graph.txt', output, /would load the option value from a file/],
    ['-filter_script=/etc/passwd', output, /"-option=value" is not ffmpeg syntax/],
    ['-vf=movie=/etc/passwd', output, /"-option=value" is not ffmpeg syntax/],
    ['-nosuchoption 1', output, /-nosuchoption is not an option ffleet accepts/],
    ['-constructor 1', output, /-constructor is not an option ffleet accepts/],
    ['-__proto__ 1', output, /-__proto__ is not an option ffleet accepts/],
    ['-\u0441:v copy', output, /is not an option ffleet accepts/], // Cyrillic "с"
    ['-c:v', output, /-c needs a value/],
    ['-an:v', output, /-an takes no stream specifier/],
    ['-c:m:file:x copy', output, /is not a stream specifier/],
    [
      '-c:v libx264',
      global,
      /-c is a per-file option: write it in inputs\[i\]\.options or outputs\[i\]\.options/,
    ],
    ['-map 0', input, /-map is an output option: write it in outputs\[i\]\.options/],
    ['-hwaccel cuda', output, /-hwaccel is an input option/],
    ['-map 5:v', output, /refers to input 5, but the job has 2/],
    ['-crf 99', output, /must be at most 63/],
    ['-t forever', output, /must be a duration/],
    ['-metadata title=http://127.0.0.1/', output, /URLs are not allowed/],
    ['-metadata comment=/etc/passwd', output, /absolute paths are not allowed/],
    ['-x264-params stats=/tmp/x.log', output, /sets "stats", which names a file/],
    ['-x265-params csv=x.csv', output, /sets "csv", which names a file/],
    ['-x264-params keyint=..', output, /which is not letters/],
    ['-init_hw_device vaapi=va:/dev/dri/renderD128', global, /device paths are not allowed/],
    ['-hwaccel_device /dev/dri/card0', input, /not a path/],
    ['-vf movie=/etc/passwd', output, /the movie filter is not allowed/],
  ])('refuses %s', (text, ctx, message) => {
    expect(() => parse(text, ctx)).toThrow(message);
  });

  it('names the field and token in the error details', () => {
    try {
      parse('-c copy -attach /etc/passwd', output);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({
        code: 'unsafe_job',
        status: 400,
        details: { field: 'outputs[0].options', token: '-attach', position: 2 },
      });
      expect((err as Error).message).toMatch(/^outputs\[0\]\.options: "-attach" is refused/);
    }
  });
});

describe('parseOptionString', () => {
  it('gives a string it checked before the same options, frozen', () => {
    const first = parseOptionString('-c:v libx264 -crf 23 -an', output);
    expect(first).toEqual(parse('-c:v libx264 -crf 23 -an', output));
    const again = parseOptionString('-c:v libx264 -crf 23 -an', { ...output, field: 'outputs[3].options' });
    expect(again).toBe(first);
    expect(Object.isFrozen(again) && again.every(Object.isFrozen)).toBe(true);
    expect(() => (again as unknown as { token: string }[]).push({ token: '-y' })).toThrow(TypeError);
    expect(() => {
      (again[0] as { value?: string }).value = 'libx265';
    }).toThrow(TypeError);
  });

  it('checks a string again where its meaning depends on the job: the scope and the number of inputs', () => {
    expect(parseOptionString('-map 1:a', { ...output, inputCount: 2 })).toHaveLength(1);
    expect(() => parseOptionString('-map 1:a', { ...output, inputCount: 1 })).toThrow(
      /refers to input 1, but the job has 1/,
    );
    expect(parseOptionString('-ss 10', input)).toHaveLength(1);
    expect(() => parseOptionString('-ss 10', global)).toThrow(/-ss is a per-file option/);
  });

  it('refuses a bad string every time, naming the field it came from', () => {
    for (const field of ['outputs[0].options', 'outputs[1].options']) {
      expect(() => parseOptionString('-c copy -attach /etc/passwd', { ...output, field })).toThrow(
        `${field}: "-attach" is refused`,
      );
    }
  });
});

describe('option table', () => {
  it('never both accepts and refuses an option', () => {
    for (const name of Object.keys(REFUSED_OPTIONS)) expect(Object.hasOwn(OPTIONS, name), name).toBe(false);
  });

  it('gives every option a scope and a value kind', () => {
    for (const [name, def] of Object.entries(OPTIONS)) {
      expect(def.scopes.length, name).toBeGreaterThan(0);
      expect(def.value.kind, name).toBeTruthy();
      expect(name, name).toMatch(/^[a-z0-9_-]+$/i);
    }
  });

  it('lists no format that reads other files or devices', () => {
    for (const bad of [
      'hls',
      'concat',
      'dash',
      'imf',
      'sdp',
      'rtp',
      'rtsp',
      'lavfi',
      'tty',
      'bin',
      'xbin',
      'v4l2',
    ]) {
      expect(MEDIA_DEMUXERS, bad).not.toContain(bad);
    }
    for (const bad of ['tee', 'fifo', 'rtp', 'rtsp', 'sap', 'alsa', 'pulse', 'sdl', 'v4l2', 'fbdev']) {
      expect(MUXERS, bad).not.toContain(bad);
    }
  });
});
