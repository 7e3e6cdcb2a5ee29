/**
 * A track of WebVTT in MP4 (`wvtt`) as ffprobe reads it: its stream, and each sample's time,
 * size and the cues it shows, read from the sample's bytes at the place ffprobe says it is.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The boxes in a buffer, each with its type and body. */
function boxes(bytes: Buffer): { type: string; body: Buffer }[] {
  const found: { type: string; body: Buffer }[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    const size = bytes.readUInt32BE(at);
    if (size < 8) throw new Error(`a box of ${size} bytes at ${at}`);
    found.push({ type: bytes.toString('latin1', at + 4, at + 8), body: bytes.subarray(at + 8, at + size) });
    at += size;
  }
  return found;
}

/** What a sample shows: each `vttc`'s text (and settings in brackets); nothing for a `vtte`. */
function shown(sample: Buffer): string[] {
  return boxes(sample).flatMap(({ type, body }) => {
    if (type === 'vtte') return [];
    if (type !== 'vttc') throw new Error(`a sample holds a ${type} box`);
    const parts = new Map(boxes(body).map((b) => [b.type, b.body.toString('utf8')]));
    return [`${parts.get('payl')}${parts.has('sttg') ? ` [${parts.get('sttg')}]` : ''}`];
  });
}

export interface WvttTrack {
  stream: { codec_tag_string: string; duration: string; tags?: { language?: string } };
  samples: { at: number; size: number; shows: string[] }[];
}

export async function probeWvtt(file: string): Promise<WvttTrack> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_streams',
    '-show_packets',
    '-of',
    'json',
    file,
  ]);
  const out = JSON.parse(stdout) as {
    streams: WvttTrack['stream'][];
    packets: { pts_time: string; pos: string; size: string }[];
  };
  const bytes = await readFile(file);
  const samples = out.packets.map((p) => ({
    at: Number(p.pts_time),
    size: Number(p.size),
    shows: shown(bytes.subarray(Number(p.pos), Number(p.pos) + Number(p.size))),
  }));
  return { stream: out.streams[0]!, samples };
}
