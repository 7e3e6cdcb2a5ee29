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
  const keys = [playlist.segments[0]!.map!.uri, ...playlist.segments.map((s) => s.uri)];
  return joinedObjects(
    fleet,
    keys.map((key) => `${folder}${key}`),
    name ?? `${base}${uri}`.replace(/[^A-Za-z0-9.-]/g, '_').replace(/m3u8$/, 'mp4'),
  );
}

/**
 * Objects of the fleet's bucket one after another (an init segment, then media segments) as
 * one local file named `name`, which ffprobe and ffmpeg read as one MP4.
 */
export async function joinedObjects(
  fleet: TestFleet,
  keys: readonly string[],
  name: string,
): Promise<string> {
  const parts: Buffer[] = [];
  for (const key of keys) parts.push(await fleet.get(key));
  const file = join(fleet.dir, name);
  await writeFile(file, Buffer.concat(parts));
  return file;
}
