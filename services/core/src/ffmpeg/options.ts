import { UnsafeJobError } from '../errors.ts';

export type OptionScope = 'global' | 'input' | 'output';

// Options that read or write files other than the job's declared inputs and outputs.
const FILE_OPTIONS = new Set([
  'i',
  'filter_script',
  'filter_complex_script',
  'attach',
  'dump_attachment',
  'vstats_file',
  'vstats',
  'sdp_file',
  'report',
  'passlogfile',
  'progress',
  'stats_file',
  'fpre',
  'vpre',
  'apre',
  'spre',
  'pre',
  'protocol_whitelist',
  'protocol_blacklist',
  'stdin',
  'init_hw_device',
  'filter_hw_device',
  'hwaccel_device',
]);
// Filters that open files, devices or the network.
const FILE_FILTERS = new Set([
  'movie',
  'amovie',
  'subtitles',
  'ass',
  'lut3d',
  'lut1d',
  'haldclut',
  'sendcmd',
  'asendcmd',
  'zmq',
  'azmq',
  'frei0r',
  'frei0r_src',
  'ladspa',
  'lv2',
  'ocr',
  'dnn_processing',
  'sr',
  'derain',
  'dnn_detect',
  'dnn_classify',
]);
const PROTOCOL = /^[a-z][a-z0-9+.-]*:/i;
const KNOWN_PROTOCOLS =
  /(^|[^a-z0-9])(file|concat|concatf|subfile|data|pipe|fd|http|https|tcp|udp|tls|rtmp|rtmps|rtp|srt|ftp|sftp|smb|crypto|cache|async|gopher|hls|unix|mmsh|mmst|rtsp|icecast|ipfs|ipns|md5|tee|zmq)(:|\\:)/i;

/**
 * First version of the option check: refuses file-naming options, file-opening filters,
 * protocols, absolute paths and `..`. Returns the tokens unchanged when they pass.
 */
export function checkOptions(tokens: string[], scope: OptionScope, field: string): string[] {
  tokens.forEach((token, position) => {
    const refuse = (why: string): never => {
      throw new UnsafeJobError(`${field}: "${token}" is refused: ${why}`, { field, token, position, scope });
    };
    if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      const name = token.slice(1).split(':')[0]!;
      if (FILE_OPTIONS.has(name)) refuse('this option names files outside the job');
    }
    if (KNOWN_PROTOCOLS.test(token) || (PROTOCOL.test(token) && token.includes('//'))) {
      refuse('URLs and protocols are not allowed in options');
    }
    if (/(^|[=:,;'"\s])[/~]/.test(token) && !token.startsWith('-')) refuse('absolute paths are not allowed');
    if (/(^|[/\\=:,;'"\s])\.\.([/\\]|$)/.test(token)) refuse('".." paths are not allowed');
    for (const filter of token.matchAll(/(?:^|[,;\]\s])\s*([a-z0-9_]+)\s*(?:=|@|,|;|$)/gi)) {
      if (FILE_FILTERS.has(filter[1]!.toLowerCase())) refuse(`the ${filter[1]} filter opens files`);
    }
  });
  return tokens;
}
