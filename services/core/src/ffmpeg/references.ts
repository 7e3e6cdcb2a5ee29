/**
 * Detects strings that could make ffmpeg open something other than the job's own files:
 * a URL or protocol prefix (`http://`, `concat:`, `subfile,,start,…`), an absolute or home
 * path, or a `..` path segment. Applied to every caller-supplied value after it has been
 * unquoted, so quoting cannot hide one.
 */

/**
 * Protocol names ffmpeg (libavformat) knows, input and output, across recent versions.
 * A value that starts with `name:` opens that protocol; we refuse them all rather than
 * trust `-protocol_whitelist` alone.
 */
export const PROTOCOLS: readonly string[] = [
  'amqp',
  'android_content',
  'async',
  'bluray',
  'cache',
  'concat',
  'concatf',
  'crypto',
  'data',
  'dtls',
  'fd',
  'ffrtmpcrypt',
  'ffrtmphttp',
  'file',
  'ftp',
  'gopher',
  'gophers',
  'hls',
  'http',
  'httpproxy',
  'https',
  'icecast',
  'ipfs',
  'ipns',
  'librist',
  'libsmbclient',
  'libsrt',
  'libssh',
  'libzmq',
  'md5',
  'mmsh',
  'mmst',
  'pipe',
  'prompeg',
  'rist',
  'rtmp',
  'rtmpe',
  'rtmps',
  'rtmpt',
  'rtmpte',
  'rtmpts',
  'rtp',
  'rtsp',
  'sctp',
  'sftp',
  'smb',
  'srt',
  'srtp',
  'subfile',
  'tcp',
  'tee',
  'tls',
  'udp',
  'udplite',
  'unix',
  'whip',
  'zmq',
];

// A protocol name at the start of a value or right after a separator an option or filter
// syntax uses (`=`, `:`, `,`, `;`, `|`, quotes, brackets, space). ffmpeg reads `name:` as
// a protocol, and `subfile,,start,…,end,…,:path` too.
const PROTOCOL_AT = new RegExp(
  `(^|[=:,;|\\s'"(\\[])(${PROTOCOLS.join('|')}):|(^|[=:,;|\\s'"(\\[])(subfile),`,
  'i',
);
const ANY_SCHEME = /[a-z][a-z0-9+.-]*:\/\//i;
// `/x`, `~/x` or `\x` at the start of a value or of a sub-value (`model=path=/x`).
const ABSOLUTE_AT = /(^|[=:,;|\s'"(])[/~\\]/;
const PARENT_SEGMENT = /(^|[/\\=:,;|\s'"])\.\.([/\\]|$)/;

/** Why `value` would let ffmpeg reach outside the job, or undefined when it cannot. */
export function referenceProblem(value: string): string | undefined {
  if (ANY_SCHEME.test(value)) return 'URLs are not allowed: inputs and outputs come only from the job';
  const protocol = PROTOCOL_AT.exec(value);
  if (protocol) return `the "${(protocol[2] ?? protocol[4])!.toLowerCase()}:" protocol is not allowed`;
  if (ABSOLUTE_AT.test(value))
    return 'absolute paths are not allowed: ffmpeg only sees the job work directory';
  if (PARENT_SEGMENT.test(value)) return '".." paths are not allowed';
  return undefined;
}
