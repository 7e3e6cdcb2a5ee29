import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import HLS from 'hls-parser';
import type { TestFleet } from './fleet.ts';

/**
 * An HLS rendition in the fleet's bucket, its init segment and media segments in order, as one
 * local MP4 that ffprobe and ffmpeg read. `name`: the local file's name (default: made from the
 * playlist's key).
 */
export async function renditionFile(
  fleet: TestFleet,
  base: string,
  uri: string,
  name?: string,
): Promise<string> {
  const playlist = HLS.parse((await fleet.get(`${base}${uri}`)).toString('utf8')) as HLS.types.MediaPlaylist;
  const folder = `${base}${uri.slice(0, uri.lastIndexOf('/') + 1)}`;
  const parts = [await fleet.get(`${folder}${playlist.segments[0]!.map!.uri}`)];
  for (const s of playlist.segments) parts.push(await fleet.get(`${folder}${s.uri}`));
  const file = join(
    fleet.dir,
    name ?? `${base}${uri}`.replace(/[^A-Za-z0-9.-]/g, '_').replace(/m3u8$/, 'mp4'),
  );
  await writeFile(file, Buffer.concat(parts));
  return file;
}
