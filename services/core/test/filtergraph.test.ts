import { describe, expect, it } from 'vitest';
import { ALLOWED_FILTERS, FILE_OPTION_FILTERS, REFUSED_FILTERS } from '../src/ffmpeg/filter-table.ts';
import { checkFiltergraph, parseFilterArgs, parseFiltergraph } from '../src/ffmpeg/filtergraph.ts';

const ctx = { field: 'outputs[0].options', option: '-filter_complex', inputCount: 2 };

describe('parseFiltergraph', () => {
  it('reads chains, filters, labels, instance ids and options', () => {
    const graph = parseFiltergraph(
      '[0:v]scale=w=1280:h=-2[s];[s] split [a][b] ; [a]fps=30,format@f1=yuv420p[out];[b]nullsink',
    );
    expect(graph.chains).toHaveLength(4);
    expect(graph.chains[0]).toEqual([
      {
        name: 'scale',
        args: [
          { key: 'w', value: '1280' },
          { key: 'h', value: '-2' },
        ],
        inputs: ['0:v'],
        outputs: ['s'],
      },
    ]);
    expect(graph.chains[1]![0]).toMatchObject({
      name: 'split',
      inputs: ['s'],
      outputs: ['a', 'b'],
      args: [],
    });
    expect(graph.chains[2]!.map((f) => f.name)).toEqual(['fps', 'format']);
    expect(graph.chains[2]![1]).toMatchObject({
      instance: 'f1',
      args: [{ value: 'yuv420p' }],
      outputs: ['out'],
    });
  });

  it('applies graph-level then option-level quoting, like libavfilter', () => {
    // The graph level removes the outer quotes; the option level then splits on ":".
    const [drawtext] = parseFiltergraph(String.raw`drawtext=text='a\:b, c':x=10`).chains[0]!;
    expect(drawtext!.args).toEqual([
      { key: 'text', value: 'a:b, c' },
      { key: 'x', value: '10' },
    ]);
    // A backslash-escaped comma stays inside the filter's arguments.
    const chain = parseFiltergraph(String.raw`drawtext=text=a\,movie=x`).chains[0]!;
    expect(chain).toHaveLength(1);
    expect(chain[0]!.args).toEqual([{ key: 'text', value: 'a,movie=x' }]);
    // Quotes and escapes in a filter name are removed before the name is looked up.
    expect(parseFiltergraph(`'mo''vie'=x`).chains[0]![0]!.name).toBe('movie');
    expect(parseFiltergraph(String.raw`mo\vie=x`).chains[0]![0]!.name).toBe('movie');
    expect(parseFiltergraph(' \n movie = x ').chains[0]![0]).toMatchObject({
      name: 'movie',
      args: [{ value: 'x' }],
    });
  });

  it('keeps positional values apart from keyed ones', () => {
    expect(parseFilterArgs('1280:-2:flags=lanczos')).toEqual([
      { value: '1280' },
      { value: '-2' },
      { key: 'flags', value: 'lanczos' },
    ]);
    expect(parseFilterArgs('/etc/passwd')).toEqual([{ value: '/etc/passwd' }]);
    expect(parseFilterArgs('/text=/etc/passwd')).toEqual([{ key: '/text', value: '/etc/passwd' }]);
    expect(parseFilterArgs("expr='gt(scene\\,0.3)'")).toEqual([{ key: 'expr', value: 'gt(scene\\,0.3)' }]);
  });

  it('reads a leading sws_flags section', () => {
    const graph = parseFiltergraph('sws_flags=bicubic+accurate_rnd;scale=640:360');
    expect(graph.swsFlags).toBe('bicubic+accurate_rnd');
    expect(graph.chains[0]![0]!.name).toBe('scale');
  });

  it.each([
    ['[in', /unterminated "\[" link label/],
    ['[]scale', /empty link label/],
    ['scale,,fps', /a filter has no name/],
    ['scale=1:1]x', /unexpected "]"/],
    ['sws_flags=bicubic', /not terminated/],
  ])('reports a syntax error in %s', (text, message) => {
    expect(() => parseFiltergraph(text)).toThrow(message);
  });
});

describe('checkFiltergraph', () => {
  it.each([
    'scale=-2:720',
    'fps=1/5,scale=320:-1',
    "select='eq(pict_type\\,I)',scale=iw/2:ih/2",
    '[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]',
    'anullsrc=channel_layout=stereo:sample_rate=44100[a]',
    'fps=10,scale=320:-1:flags=lanczos,split[s0][s1];[s0]palettegen[p];[s1][p]paletteuse',
    "drawtext=text='ffleet %{pts\\:hms}':fontsize=24:x=10:y=10",
    'setpts=0.25*PTS',
    'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    'hwupload_cuda,scale_cuda=1280:720',
    'psnr',
  ])('accepts %s', (graph) => {
    expect(() => checkFiltergraph(graph, ctx)).not.toThrow();
  });

  it.each([
    ['movie=/etc/passwd', /the movie filter is not allowed/],
    ['amovie=in.wav[a]', /the amovie filter is not allowed/],
    ["'mo''vie'=x", /the movie filter is not allowed/],
    ['mo\\vie=x', /the movie filter is not allowed/],
    ['movie@evil=x', /the movie filter is not allowed/],
    ['scale=1:1;\n amovie=x', /the amovie filter is not allowed/],
    ['subtitles=subs.srt', /the subtitles filter is not allowed: it opens a subtitle file/],
    ['ass=x.ass', /the ass filter is not allowed/],
    ['lut3d=file=grade.cube', /the lut3d filter is not allowed/],
    ['lut1d=x.cube', /the lut1d filter is not allowed/],
    ['sendcmd=f=cmds.txt', /the sendcmd filter is not allowed/],
    ['zmq', /the zmq filter is not allowed: it opens a network socket/],
    ['frei0r=distort0r', /loads a shared library/],
    ['ladspa=file=amp', /loads a shared library/],
    ['lv2=p=urn:x', /loads a shared library/],
    ['dnn_processing=model=m.pb', /reads a model file/],
    ['drawtext=fontfile=x.ttf:text=hi', /the drawtext option "fontfile" names a file/],
    ['drawtext=textfile=/etc/passwd', /the drawtext option "textfile" names a file/],
    ['drawtext=/usr/share/fonts/x.ttf', /drawtext takes only key=value options here/],
    ['drawtext=/text=/etc/passwd', /would load its value from a file/],
    ['psnr=stats_file=x.log', /the psnr option "stats_file" names a file/],
    ['psnr=f=x.log', /the psnr option "f" names a file/],
    ['metadata=mode=print:file=x.txt', /the metadata option "file" names a file/],
    ["drawtext=text='http\\://127.0.0.1/'", /URLs are not allowed/],
    ["drawtext=text='concat\\:a|b'", /the "concat:" protocol is not allowed/],
    ['drawtext=text=http\\://127.0.0.1/', /drawtext takes only key=value options/],
    ['scale=w=../x', /".." paths are not allowed/],
    ['nosuchfilter=1', /"nosuchfilter" is not a filter ffleet accepts/],
    ['[5:v]scale=1:1', /refers to input 5, but the job has 2/],
    ['scale=1:1[a b]', /link label/],
    ['[in', /not a valid filtergraph: unterminated/],
    ['sws_flags=/x;scale=1:1', /sws_flags/],
  ])('refuses %s', (graph, message) => {
    expect(() => checkFiltergraph(graph, ctx)).toThrow(message);
    expect(() => checkFiltergraph(graph, ctx)).toThrow(/outputs\[0\]\.options: -filter_complex/);
  });

  it('keeps the three filter tables disjoint', () => {
    for (const name of Object.keys(REFUSED_FILTERS)) {
      expect(ALLOWED_FILTERS.has(name), name).toBe(false);
      expect(FILE_OPTION_FILTERS[name], name).toBeUndefined();
    }
    for (const name of Object.keys(FILE_OPTION_FILTERS)) expect(ALLOWED_FILTERS.has(name), name).toBe(false);
  });
});
