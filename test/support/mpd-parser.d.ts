/** The part of mpd-parser's API the tests use (the package ships no types). */
declare module 'mpd-parser' {
  export interface MpdSegment {
    duration: number;
    uri: string;
    resolvedUri: string;
  }
  export interface MpdPlaylist {
    attributes: Record<string, unknown>;
    segments: MpdSegment[];
  }
  export interface ParsedMpd {
    playlists: MpdPlaylist[];
    mediaGroups: { AUDIO: Record<string, Record<string, { playlists: MpdPlaylist[] }>> };
    duration: number;
  }
  export function parse(manifest: string, options?: { manifestUri?: string }): ParsedMpd;
}
