/**
 * The kinds of value an ffmpeg option takes, and how each is checked. Every kind is a
 * narrow pattern, so a value can only be what its option expects: a number cannot be a
 * path, a codec name cannot be a URL. The option table (option-table.ts) names a kind for
 * every option; filtergraphs are checked by filtergraph.ts.
 */

export type ValueKind =
  /** No value: a switch such as `-an` or `-shortest`. */
  | { kind: 'none' }
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'number'; min?: number; max?: number }
  /** A duration or position: `90`, `1.5`, `500ms`, `00:01:30.5`, `-10`. */
  | { kind: 'time' }
  /** A frame size: `1280x720` or a name such as `hd720`. */
  | { kind: 'size' }
  /** A frame rate: `30`, `30000/1001`, `ntsc`. */
  | { kind: 'rate' }
  /** A ratio: `16:9`, `1.7777`. */
  | { kind: 'ratio' }
  /** A bit rate or byte count: `128k`, `5M`, `1.5M`, `10MiB`. */
  | { kind: 'amount' }
  /** An identifier: codec, pixel format, preset, profile, level, tune, device type… */
  | { kind: 'name' }
  | { kind: 'enum'; values: readonly string[] }
  /** Flag set: `+faststart`, `frag_keyframe+empty_moov`, `-default+forced`. */
  | { kind: 'flags' }
  /** A demuxer (input scope) or muxer (output scope) from the format allow-lists. */
  | { kind: 'format' }
  /** A filtergraph, parsed and checked by filtergraph.ts. */
  | { kind: 'filtergraph' }
  /** `-map` value: `0`, `0:v:0`, `-0:a`, `1:a?`, or a filtergraph output `[out]`. */
  | { kind: 'map' }
  /** `-map_metadata` value: `0`, `-1`, `0:s:0`, `0:g`. */
  | { kind: 'mapMetadata' }
  /** `key=value` metadata: the key is an identifier, the value free text. */
  | { kind: 'metadata' }
  /** `key=value:key=value` encoder parameters (x264-params…), keys in `deniedKeys` refused. */
  | { kind: 'params'; deniedKeys: readonly string[] }
  /** A plain file name that buildArgv places in the output's folder (`-hls_segment_filename`). */
  | { kind: 'outputPath' }
  /** A plain file name the muxer itself resolves next to its main output (`-init_seg_name`). */
  | { kind: 'outputName' }
  /** A plain file name that buildArgv places in the job work dir (`-passlogfile`). */
  | { kind: 'scratchPath' }
  /** Anything else with a fixed shape. */
  | { kind: 'pattern'; pattern: RegExp; hint: string };

export type ValueCheck = (value: string) => string | undefined;

const INT = /^-?\d{1,15}$/;
const NUMBER = /^-?(\d{1,15}(\.\d{1,15})?|\.\d{1,15})$/;
const TIME = /^-?((\d{1,9}:)?\d{1,2}:\d{1,2}(\.\d{1,9})?|\d{1,12}(\.\d{1,9})?(s|ms|us)?)$/;
const SIZE_NAMES = new Set(
  (
    'ntsc pal qntsc qpal sntsc spal film ntsc-film sqcif qcif cif 4cif 16cif qqvga qvga vga svga xga ' +
    'uxga qxga sxga qsxga hsxga wvga wxga wsxga wuxga woxga wqsxga wquxga whsxga whuxga cga ega ' +
    'hd480 hd720 hd1080 2k 2kflat 2kscope 4k 4kflat 4kscope nhd hqvga wqvga fwqvga hvga qhd ' +
    '2kdci 4kdci uhd2160 uhd4320'
  ).split(' '),
);
const RATE_NAMES = new Set('ntsc pal qntsc qpal sntsc spal film ntsc-film'.split(' '));
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
const FLAGS = /^[+-]?[A-Za-z0-9_]{1,40}([+-][A-Za-z0-9_]{1,40}){0,31}$/;
const MAP = /^(-?\d{1,3}(:[A-Za-z0-9_#.:-]{1,64})?|\[[A-Za-z0-9_.:]{1,64}\])\??$/;
const MAP_METADATA = /^-?\d{1,3}(:[A-Za-z0-9:]{1,32})?$/;
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const PARAM_KEY = /^[A-Za-z0-9_-]{1,40}$/;
const PARAM_VALUE = /^[A-Za-z0-9_.,+()-]{0,256}$/;
// A file name with no directory part. `%` allows numbered sequences (`seg_%03d.ts`) and `$`
// DASH templates (`chunk-$RepresentationID$-$Number$.m4s`).
const PLAIN_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.%$-]{0,127}$/;

export const MAX_METADATA_VALUE = 1024;

function range(n: number, min?: number, max?: number): string | undefined {
  if (min !== undefined && n < min) return `must be at least ${min}`;
  if (max !== undefined && n > max) return `must be at most ${max}`;
  return undefined;
}

/** Returns a validator for a kind (except filtergraph and format, which need context). */
export function valueCheck(kind: ValueKind): ValueCheck {
  switch (kind.kind) {
    case 'none':
      return () => undefined;
    case 'int':
      return (v) => (INT.test(v) ? range(Number(v), kind.min, kind.max) : 'must be an integer');
    case 'number':
      return (v) => (NUMBER.test(v) ? range(Number(v), kind.min, kind.max) : 'must be a number');
    case 'time':
      return (v) => (TIME.test(v) ? undefined : 'must be a duration such as 10, 2.5, 500ms or 00:01:30.5');
    case 'size':
      return (v) =>
        /^\d{1,5}x\d{1,5}$/.test(v) || SIZE_NAMES.has(v) ? undefined : 'must be a size such as 1280x720';
    case 'rate':
      return (v) =>
        /^\d{1,6}(\.\d{1,6})?(\/\d{1,6}(\.\d{1,6})?)?$/.test(v) || RATE_NAMES.has(v)
          ? undefined
          : 'must be a rate such as 30 or 30000/1001';
    case 'ratio':
      return (v) =>
        /^\d{1,6}([:/]\d{1,6}|\.\d{1,9})?$/.test(v) ? undefined : 'must be a ratio such as 16:9';
    case 'amount':
      return (v) =>
        /^\d{1,15}(\.\d{1,9})?([kKMGT]i?)?B?$/.test(v) ? undefined : 'must be an amount such as 128k or 5M';
    case 'name':
      return (v) => (NAME.test(v) ? undefined : 'must be a name (letters, digits, _ . + -)');
    case 'enum':
      return (v) => (kind.values.includes(v) ? undefined : `must be one of ${kind.values.join(', ')}`);
    case 'flags':
      return (v) => (FLAGS.test(v) ? undefined : 'must be flags such as +faststart or a+b-c');
    case 'map':
      return (v) => (MAP.test(v) ? undefined : 'must be a stream map such as 0:v:0, -0:a, 1:a? or [out]');
    case 'mapMetadata':
      return (v) => (MAP_METADATA.test(v) ? undefined : 'must be a metadata map such as 0, -1 or 0:s:0');
    case 'metadata':
      return checkMetadata;
    case 'params':
      return (v) => checkParams(v, kind.deniedKeys);
    case 'outputPath':
    case 'outputName':
    case 'scratchPath':
      return (v) =>
        PLAIN_FILE.test(v)
          ? undefined
          : 'must be a plain file name (letters, digits, _ . % $ -), with no directory: ' +
            'ffleet places it in the job folder';
    case 'pattern':
      return (v) => (kind.pattern.test(v) ? undefined : `must be ${kind.hint}`);
    case 'format':
    case 'filtergraph':
      throw new Error(`${kind.kind} values are checked with their context`);
  }
}

function checkMetadata(v: string): string | undefined {
  const eq = v.indexOf('=');
  if (eq <= 0) return 'must be key=value';
  if (!METADATA_KEY.test(v.slice(0, eq))) return 'has a key that is not letters, digits, _ . -';
  if (v.length - eq - 1 > MAX_METADATA_VALUE)
    return `has a value longer than ${MAX_METADATA_VALUE} characters`;
  return undefined;
}

function checkParams(v: string, deniedKeys: readonly string[]): string | undefined {
  for (const pair of v.split(':')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!PARAM_KEY.test(key)) return `has a parameter name "${key}" that is not letters, digits, _ -`;
    if (deniedKeys.includes(key)) return `sets "${key}", which names a file`;
    if (!PARAM_VALUE.test(value) || value === '..' || value.startsWith('.')) {
      return `sets ${key} to "${value}", which is not letters, digits and _ . , + ( ) -`;
    }
  }
  return undefined;
}
