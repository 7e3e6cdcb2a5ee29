/**
 * What a ladder's packaging reads back from the fragmented MP4 (CMAF) files ffmpeg wrote: the
 * codec string players need (from the init segment's decoder configuration) and where each
 * fragment's first sample (the keyframe) ends, for I-frame playlists. Bytes in, facts out.
 */

interface Box {
  type: string;
  start: number;
  /** Where its payload starts (after the size/type header). */
  body: number;
  end: number;
}

/** The boxes directly inside `[from, to)`. */
function boxes(buf: Buffer, from = 0, to = buf.length): Box[] {
  const found: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let body = at + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      body += 8;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) break;
    found.push({ type, start: at, body, end: at + size });
    at += size;
  }
  return found;
}

/** The first box at a path of types (`moov/trak/mdia`), depth first. */
function find(buf: Buffer, path: string[], from = 0, to = buf.length): Box | undefined {
  for (const box of boxes(buf, from, to)) {
    if (box.type !== path[0]) continue;
    if (path.length === 1) return box;
    const inner = find(buf, path.slice(1), box.body, box.end);
    if (inner) return inner;
  }
  return undefined;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** The RFC 6381 codec string of the video track in an init segment (avc1, hvc1/hev1, av01). */
export function videoCodecString(init: Buffer): string {
  const stsd = find(init, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']);
  if (!stsd) throw new Error('no sample description in the init segment');
  // After stsd's version, flags and entry count; a visual sample entry's own fields take 78 bytes.
  const [entry] = boxes(init, stsd.body + 8, stsd.end);
  if (!entry) throw new Error('no sample entry in the init segment');
  const config = boxes(init, entry.body + 78, entry.end);
  const of = (type: string) => config.find((b) => b.type === type);
  if (entry.type === 'avc1' || entry.type === 'avc3') {
    const avcC = of('avcC');
    if (!avcC) throw new Error('no avcC box');
    const b = avcC.body;
    return `${entry.type}.${hex2(init[b + 1]!)}${hex2(init[b + 2]!)}${hex2(init[b + 3]!)}`;
  }
  if (entry.type === 'hvc1' || entry.type === 'hev1') {
    const hvcC = of('hvcC');
    if (!hvcC) throw new Error('no hvcC box');
    const b = hvcC.body;
    const byte = init[b + 1]!;
    const space = ['', 'A', 'B', 'C'][byte >> 6];
    const tier = byte & 0x20 ? 'H' : 'L';
    const compat = init.readUInt32BE(b + 2);
    let reversed = 0;
    for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
    const constraints = [...init.subarray(b + 6, b + 12)];
    while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
    const tail = constraints.map((c) => `.${c.toString(16).toUpperCase()}`).join('');
    return `${entry.type}.${space}${byte & 0x1f}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier}${init[b + 12]}${tail}`;
  }
  if (entry.type === 'av01') {
    const av1C = of('av1C');
    if (!av1C) throw new Error('no av1C box');
    const b = av1C.body;
    const profile = init[b + 1]! >> 5;
    const level = init[b + 1]! & 0x1f;
    const flags = init[b + 2]!;
    const depth = flags & 0x40 ? (profile === 2 && flags & 0x20 ? 12 : 10) : 8;
    return `av01.${profile}.${String(level).padStart(2, '0')}${flags & 0x80 ? 'H' : 'M'}.${String(depth).padStart(2, '0')}`;
  }
  throw new Error(`unknown sample entry ${entry.type}`);
}

/** A movie fragment in a media segment: its bytes, and where its first sample's data ends. */
export interface Fragment {
  offset: number;
  /** moof and mdat together. */
  length: number;
  /** From `offset`: the bytes a player needs to decode the fragment's first frame (moof up to its end). */
  firstSampleEnd: number;
}

/** Every moof+mdat pair of a media segment, in order. */
export function fragments(segment: Buffer): Fragment[] {
  const top = boxes(segment);
  const found: Fragment[] = [];
  top.forEach((moof, i) => {
    if (moof.type !== 'moof') return;
    const mdat = top.slice(i + 1).find((b) => b.type === 'mdat');
    if (!mdat) return;
    const traf = find(segment, ['traf'], moof.body, moof.end);
    const tfhd = traf && find(segment, ['tfhd'], traf.body, traf.end);
    const trun = traf && find(segment, ['trun'], traf.body, traf.end);
    if (!tfhd || !trun) throw new Error('a fragment without tfhd or trun');
    const tfFlags = segment.readUInt32BE(tfhd.body) & 0xffffff;
    let at = tfhd.body + 8;
    if (tfFlags & 0x1) at += 8;
    if (tfFlags & 0x2) at += 4;
    if (tfFlags & 0x8) at += 4;
    const defaultSize = tfFlags & 0x10 ? segment.readUInt32BE(at) : 0;
    const flags = segment.readUInt32BE(trun.body) & 0xffffff;
    at = trun.body + 8;
    let dataOffset = mdat.body - moof.start;
    if (flags & 0x1) {
      dataOffset = segment.readInt32BE(at);
      at += 4;
    }
    if (flags & 0x4) at += 4;
    if (flags & 0x100) at += 4;
    const firstSize = flags & 0x200 ? segment.readUInt32BE(at) : defaultSize;
    found.push({ offset: moof.start, length: mdat.end - moof.start, firstSampleEnd: dataOffset + firstSize });
  });
  return found;
}
