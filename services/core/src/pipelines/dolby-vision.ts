/**
 * Dolby Vision sources. In most profiles a Dolby Vision stream's base layer is an ordinary
 * picture that FFmpeg decodes and ffleet treats as what its tags say: HDR10 in 8.1 and 7, HLG
 * in 8.4, SDR in 8.2. Profile 5's is not: its base layer is coded in Dolby's IPT colours
 * (IPTPQc2), which only a Dolby Vision decoder, applying the stream's metadata, turns into a
 * picture. Decoded as plain HEVC it plays green and purple; ladders and previews of it would
 * look so to every viewer, so they refuse it.
 */
import { FfleetError } from '../errors.ts';

/** A stream's Dolby Vision configuration record, as ffprobe lists it in the stream's side data. */
export interface DolbyVisionSideData {
  side_data_type?: string;
  dv_profile?: number;
  dv_bl_signal_compatibility_id?: number;
}

export interface DolbyVision {
  profile: number;
  /** What the base layer is without Dolby Vision: 0 nothing, 1 HDR10, 2 SDR, 4 HLG, 6 HDR10 (Blu-ray). */
  compatibility: number;
}

/** The Dolby Vision configuration a stream declares, if any. */
export function dolbyVisionOf(sideData: readonly DolbyVisionSideData[] | undefined): DolbyVision | undefined {
  const record = sideData?.find((d) => /dovi configuration/i.test(d.side_data_type ?? ''));
  if (record?.dv_profile === undefined) return undefined;
  return { profile: record.dv_profile, compatibility: record.dv_bl_signal_compatibility_id ?? 0 };
}

/**
 * Refuses (422 `dolby_vision_unsupported`, not retried) a source whose pictures only a Dolby
 * Vision decoder can show: a base layer compatible with nothing (profile 5). `what` names what
 * would have been made of it ("a ladder's rungs").
 */
export function checkDecodablePictures(dolbyVision: DolbyVision | undefined, what: string): void {
  if (dolbyVision?.compatibility !== 0) return;
  throw new FfleetError(
    'dolby_vision_unsupported',
    `the input is Dolby Vision profile ${dolbyVision.profile} with no HDR10, HLG or SDR base layer: ` +
      `its pictures are in Dolby's IPT colours, which only a Dolby Vision decoder shows right, so ${what} ` +
      'would be green and purple. Send an HDR10 or HLG version of the source (Dolby Vision profile 8.1 or 8.4 plays as one)',
    422,
    { profile: dolbyVision.profile, compatibility: dolbyVision.compatibility },
  );
}
