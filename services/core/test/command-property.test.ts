import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FfleetError } from '../src/errors.ts';
import { buildArgv, planCommand, workLayout } from '../src/ffmpeg/command.ts';
import { OPTIONS, REFUSED_OPTIONS, type Scope } from '../src/ffmpeg/option-table.ts';
import type { ValueKind } from '../src/ffmpeg/option-values.ts';
import { tokenize } from '../src/ffmpeg/tokenize.ts';
import type { JobSpec } from '../src/jobs/spec.ts';

/**
 * Random token streams, mostly well-formed and salted with hostile values, names and
 * quoting. Whatever planCommand accepts, the argv it builds must contain no option outside
 * the table, no URL, and no path outside the work dir. The oracle below is written apart
 * from the implementation: it knows only the table's arity and its own protocol list.
 */

const WORK = '/srv/ffleet/work/job-42';

// Protocols from `ffmpeg -protocols` (5.x-7.x), kept separately from the implementation's list.
const ORACLE_PROTOCOLS =
  'async bluray cache concat concatf crypto data fd ffrtmphttp file ftp gopher gophers hls http ' +
  'httpproxy https icecast ipfs ipns md5 mmsh mmst pipe prompeg rist rtmp rtmps rtmpt rtmpts rtp ' +
  'sctp sftp srt srtp subfile tcp tee tls udp udplite unix zmq amqp';
const URLISH = new RegExp(`(^|[=:,;|'"\\s(\\[])(${ORACLE_PROTOCOLS.split(' ').join('|')}):`, 'i');
const HARDENING = new Set(['protocol_whitelist', 'format_whitelist', 'safe']);

function violations(argv: string[]): string[] {
  const found: string[] = [];
  const insideWork = (p: string, under: string) => {
    const resolved = posix.resolve(p);
    return resolved.startsWith(`${WORK}/${under}`) && !p.split('/').includes('..');
  };
  const checkText = (s: string) => {
    if (/[a-z][a-z0-9+.-]*:\/\//i.test(s) || URLISH.test(s)) found.push(`URL in ${JSON.stringify(s)}`);
    if (/(^|[/=:,;|'"\s])\.\.($|[/\\])/.test(s)) found.push(`.. in ${JSON.stringify(s)}`);
    if (/[=:,;|'"\s(]\//.test(s) || /^~/.test(s)) found.push(`embedded path in ${JSON.stringify(s)}`);
    if (s.startsWith('/') && !insideWork(s, '')) found.push(`path outside the work dir: ${s}`);
  };
  expect(argv.slice(0, 6)).toEqual(['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1']);
  for (let i = 6; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '-i') {
      const path = argv[++i]!;
      if (!insideWork(path, 'in/')) found.push(`input outside the work dir: ${path}`);
      continue;
    }
    if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      const name = token.slice(1).split(':')[0]!;
      checkText(token);
      if (HARDENING.has(name)) {
        i++;
        continue;
      }
      const def = Object.hasOwn(OPTIONS, name) ? OPTIONS[name] : undefined;
      if (!def) {
        found.push(`option not in the table: ${token}`);
        continue;
      }
      if (def.value.kind !== 'none') checkText(argv[++i] ?? '');
      continue;
    }
    // Anything else is an output file.
    if (!insideWork(token, 'out/')) found.push(`output outside the work dir: ${token}`);
  }
  return found;
}

// --- Generators -------------------------------------------------------------------------

const HOSTILE_VALUES = [
  '/etc/passwd',
  '../../etc/passwd',
  '..',
  'a/../../b',
  '~/.ssh/id_rsa',
  'file:/etc/passwd',
  'file:///etc/passwd',
  'http://127.0.0.1:1/x.m3u8',
  'tcp://127.0.0.1:1',
  'concat:/etc/passwd|/etc/hosts',
  'subfile,,start,0,end,0,,:/etc/passwd',
  'pipe:0',
  'data:,hello',
  '-',
  '/dev/zero',
  'x=/etc/passwd',
  'title=file:x',
  'movie=/etc/passwd',
  "'mo''vie'=/etc/passwd",
  'mo\\vie=x',
  'scale=1:1,amovie=x.wav',
  'drawtext=textfile=/etc/passwd',
  'drawtext=/text=/etc/passwd',
  'drawtext=text=a\\,movie=/etc/passwd',
  "drawtext=text='http\\://127.0.0.1/'",
  '[file:x]null',
  'null[http:y]',
  'scale=w=../x',
  'sws_flags=/x;null',
  'seg/%03d.ts',
  '../seg_%03d.ts',
  'stats=/tmp/x',
];

const LEGIT_GRAPHS = [
  'scale=-2:720',
  'fps=1/5,scale=320:-1',
  "select='eq(pict_type\\,I)'",
  '[0:v]split[a][b];[a][b]hstack[v]',
  'anullsrc=channel_layout=stereo:sample_rate=44100[s]',
  'drawtext=text=hi:x=10:y=10',
  'setpts=0.5*PTS',
  'null',
];

function legitValue(kind: ValueKind): fc.Arbitrary<string> {
  switch (kind.kind) {
    case 'int':
      return fc.integer({ min: kind.min ?? 0, max: Math.min(kind.max ?? 1000, 1_000_000) }).map(String);
    case 'number':
      return fc.double({ min: kind.min ?? 0, max: kind.max ?? 100, noNaN: true }).map((n) => n.toFixed(2));
    case 'time':
      return fc.constantFrom('10', '2.5', '00:00:05', '1:30', '500ms', '-3');
    case 'size':
      return fc.constantFrom('320x240', 'hd720');
    case 'rate':
      return fc.constantFrom('30', '30000/1001', 'ntsc');
    case 'ratio':
      return fc.constantFrom('16:9', '4:3');
    case 'amount':
      return fc.constantFrom('128k', '5M', '1000');
    case 'name':
      return fc.constantFrom('libx264', 'aac', 'copy', 'yuv420p', 'veryfast', 'high', '4.1');
    case 'enum':
      return fc.constantFrom(...kind.values);
    case 'flags':
      return fc.constantFrom('+faststart', 'frag_keyframe+empty_moov', 'default');
    case 'format':
      return fc.constantFrom('mp4', 'matroska', 'mpegts', 'hls', 'concat', 'image2', 'null', 'lavfi');
    case 'filtergraph':
      return fc.constantFrom(...LEGIT_GRAPHS);
    case 'map':
      return fc.constantFrom('0', '0:v:0', '-0:a', '1:a?', '[v]');
    case 'mapMetadata':
      return fc.constantFrom('-1', '0', '0:g');
    case 'metadata':
      return fc.constantFrom('title=Clip', 'language=eng', 'comment=a: b');
    case 'params':
      return fc.constantFrom('keyint=60:scenecut=0', 'log-level=error');
    case 'outputPath':
    case 'outputName':
    case 'scratchPath':
      return fc.constantFrom('seg_%03d.ts', 'init.mp4', 'pass');
    default:
      return fc.constantFrom('1', 'auto', 'v:0,a:0', '00:00:01:00', 'expr:gte(t,2)', 'h264_mp4toannexb');
  }
}

const namesFor = (scope: Scope) =>
  Object.entries(OPTIONS).filter(([, def]) => def.scopes.includes('global') || def.scopes.includes(scope));

function optionPair(scope: Scope): fc.Arbitrary<string[]> {
  const names = namesFor(scope);
  const legit = fc.constantFrom(...names).chain(([name, def]) => {
    const spec = def.perStream ? fc.constantFrom('', ':v', ':a:0', ':s') : fc.constant('');
    const value =
      def.value.kind === 'none'
        ? fc.constant(undefined)
        : fc.oneof(
            { weight: 12, arbitrary: legitValue(def.value) },
            { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
          );
    return fc.tuple(spec, value).map(([s, v]) => (v === undefined ? [`-${name}${s}`] : [`-${name}${s}`, v]));
  });
  const hostileName = fc
    .tuple(
      fc.constantFrom(
        ...Object.keys(REFUSED_OPTIONS).map((n) => `-${n}`),
        '-/vf',
        '--i',
        '-filter_script=/etc/passwd',
        '-\u0441:v',
        '-__proto__',
      ),
      fc.constantFrom(...HOSTILE_VALUES, 'x'),
    )
    .map(([n, v]) => [n, v]);
  const bare = fc.constantFrom(...HOSTILE_VALUES, 'extra.mp4').map((v) => [v]);
  return fc.oneof(
    { weight: 40, arbitrary: legit },
    { weight: 1, arbitrary: hostileName },
    { weight: 1, arbitrary: bare },
  );
}

/** Renders tokens as an option string, quoting each one some valid way. */
function render(tokens: string[], styles: number[]): string {
  return tokens
    .map((t, i) => {
      const style = styles[i % styles.length]!;
      if (style === 0 && /^[A-Za-z0-9_%+:.,=/@-]+$/.test(t)) return t;
      if (style <= 1 && !t.includes("'")) return `'${t}'`;
      return `"${t.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    })
    .join(' ');
}

const optionString = (scope: Scope) =>
  fc
    .tuple(
      fc.array(optionPair(scope), { maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1 }),
    )
    .map(([pairs, styles]) => ({ tokens: pairs.flat(), text: render(pairs.flat(), styles) }));

const jobArb = fc
  .record({
    global: optionString('global'),
    inputs: fc.array(optionString('input'), { minLength: 1, maxLength: 3 }),
    outputs: fc.array(fc.tuple(optionString('output'), fc.boolean()), { minLength: 1, maxLength: 2 }),
  })
  .map(({ global, inputs, outputs }) => ({
    tokens: [global, ...inputs, ...outputs.map(([o]) => o)],
    spec: {
      name: 'prop',
      compute: 'intel',
      globalOptions: global.text,
      inputs: inputs.map((o, i) => ({ url: `s3://media/in/input-${i}.mp4`, options: o.text })),
      outputs: outputs.map(([o, folder], i) =>
        folder
          ? { url: `s3://media/out/${i}/`, options: o.text, filename: 'index.m3u8' }
          : { url: `s3://media/out/output-${i}.mkv`, options: o.text },
      ),
    } satisfies JobSpec,
  }));

describe('command model properties', () => {
  it('renders and tokenizes any token list back to itself', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme-ascii', minLength: 1 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s)),
        ),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1 }),
        (tokens, styles) => {
          expect(tokenize(render(tokens, styles))).toEqual(tokens);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never builds an argv with an option outside the table, a URL, or a path outside the work dir', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(jobArb, ({ spec }) => {
        let plan: ReturnType<typeof planCommand>;
        try {
          plan = planCommand(spec, { allowedBuckets: ['media'] });
        } catch (err) {
          // Refusals are fine; anything else is a bug.
          if (!(err instanceof FfleetError)) throw err;
          expect(err.status).toBe(400);
          refused++;
          return;
        }
        accepted++;
        expect(violations(buildArgv(plan, workLayout(WORK)))).toEqual([]);
      }),
      { numRuns: 2000 },
    );
    // The generator must exercise both sides, or the property says nothing.
    console.info(`property: ${accepted} jobs accepted, ${refused} refused`);
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });

  it('the oracle does catch what it looks for', () => {
    const base = ['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1'];
    expect(violations([...base, '-i', '/etc/passwd', `${WORK}/out/0/o.mp4`])).toHaveLength(1);
    expect(
      violations([...base, '-i', `${WORK}/in/0/a.mp4`, '-attach', 'x', `${WORK}/out/0/o.mp4`]),
    ).toContain('option not in the table: -attach');
    expect(
      violations([...base, '-i', `${WORK}/in/0/a.mp4`, '-vf', 'movie=http://x', `${WORK}/out/0/o.mp4`]),
    ).not.toEqual([]);
    expect(
      violations([...base, '-i', `${WORK}/in/0/a.mp4`, '-metadata', 'a=concat:x', `${WORK}/out/0/o.mp4`]),
    ).not.toEqual([]);
    expect(violations([...base, '-i', `${WORK}/in/0/a.mp4`, `${WORK}/out/0/../../../x.mp4`])).not.toEqual([]);
    expect(
      violations([...base, '-i', `${WORK}/in/0/a.mp4`, '-vf', 'lut3d=file=/x.cube', `${WORK}/out/0/o.mp4`]),
    ).not.toEqual([]);
  });
});
