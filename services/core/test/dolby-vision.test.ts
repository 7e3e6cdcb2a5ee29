import { describe, expect, it } from 'vitest';
import type { FfleetError } from '../src/errors.ts';
import { checkDecodablePictures, dolbyVisionOf } from '../src/pipelines/dolby-vision.ts';

/** A stream's side data as ffprobe 5.1 lists a Dolby Vision configuration record (`-show_streams -of json`). */
const record = (profile: number, compatibility: number) => [
  { side_data_type: 'Display Matrix', rotation: 0 },
  {
    side_data_type: 'DOVI configuration record',
    dv_version_major: 1,
    dv_version_minor: 0,
    dv_profile: profile,
    dv_level: 6,
    rpu_present_flag: 1,
    el_present_flag: 0,
    bl_present_flag: 1,
    dv_bl_signal_compatibility_id: compatibility,
  },
];

describe('Dolby Vision sources', () => {
  it("read the profile and the base layer's compatibility from the stream's side data", () => {
    expect(dolbyVisionOf(record(5, 0))).toEqual({ profile: 5, compatibility: 0 });
    expect(dolbyVisionOf(record(8, 4))).toEqual({ profile: 8, compatibility: 4 });
    expect(dolbyVisionOf([{ side_data_type: 'Mastering display metadata' }])).toBeUndefined();
    expect(dolbyVisionOf(undefined)).toBeUndefined();
  });

  it('refuse only a base layer compatible with nothing (profile 5), permanently, naming the profile', () => {
    let refused: FfleetError | undefined;
    try {
      checkDecodablePictures({ profile: 5, compatibility: 0 }, 'previews');
    } catch (error) {
      refused = error as FfleetError;
    }
    expect(refused).toMatchObject({
      code: 'dolby_vision_unsupported',
      status: 422,
      permanent: true,
      details: { profile: 5, compatibility: 0 },
    });
    expect(refused!.message).toContain('so previews would be green and purple');
    // HDR10 (8.1, 7), SDR (8.2), HLG (8.4), Blu-ray HDR10: their base layers are pictures.
    for (const compatibility of [1, 2, 4, 6])
      expect(() => checkDecodablePictures({ profile: 8, compatibility }, 'previews')).not.toThrow();
    expect(() => checkDecodablePictures(undefined, 'previews')).not.toThrow();
  });
});
