import { FfleetError, ffmpegOutput, type HdrColour, TONE_MAP_FILTERS } from '@ffleet/core';

const lists = new Map<string, Promise<Set<string>>>();

/** The filters an ffmpeg binary has (`ffmpeg -filters`), read once per binary. */
export function ffmpegFilters(ffmpegPath: string): Promise<Set<string>> {
  let list = lists.get(ffmpegPath);
  if (!list) {
    list = ffmpegOutput(ffmpegPath, ['-hide_banner', '-filters']).then(filterNamesOf);
    // A failed read is not kept: the next job tries again.
    list.catch(() => lists.delete(ffmpegPath));
    lists.set(ffmpegPath, list);
  }
  return list;
}

/** Filter names from `ffmpeg -filters`, whose lines look like ` TS. psnr   VV->V   Calculate the PSNR ...`. */
export function filterNamesOf(filterList: string): Set<string> {
  return new Set(
    filterList
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[1])
      .filter((name): name is string => Boolean(name)),
  );
}

/**
 * Refuses an HDR source (422, before anything is made) when this ffmpeg cannot tone-map it to
 * the SDR pictures a job makes of it: `what` names them.
 */
export async function checkToneMapping(ffmpegPath: string, hdr: HdrColour | undefined, what: string) {
  if (!hdr) return;
  const refusal = toneMappingRefusal(await ffmpegFilters(ffmpegPath), hdr, what);
  if (refusal) throw refusal;
}

/** The error an HDR source meets on an ffmpeg without the tone-mapping filters, or undefined. */
export function toneMappingRefusal(
  filters: ReadonlySet<string>,
  hdr: HdrColour,
  what: string,
): FfleetError | undefined {
  const missing = TONE_MAP_FILTERS.filter((name) => !filters.has(name));
  if (missing.length === 0) return undefined;
  return new FfleetError(
    'tone_mapping_unavailable',
    `the source is HDR (${hdr.transfer.toUpperCase()}) and ${what} are SDR, but this pool's ffmpeg has no ` +
      `${missing.join(' or ')} filter to tone-map it (ffmpeg built without --enable-libzimg)`,
    422,
    { missing },
  );
}
