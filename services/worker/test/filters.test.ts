import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkToneMapping, ffmpegFilters, filterNamesOf, toneMappingRefusal } from '../src/ffmpeg/filters.ts';

const PQ = { transfer: 'pq', primaries: 'bt2020', matrix: 'bt2020nc', range: 'tv' } as const;

describe("this machine's ffmpeg filters", () => {
  it('are read from `ffmpeg -filters`, tone mapping among them', async () => {
    const filters = await ffmpegFilters('ffmpeg');
    for (const name of ['scale', 'psnr', 'zscale', 'tonemap']) expect(filters.has(name), name).toBe(true);
    // The header and legend lines are not filters.
    expect(filters.has('Filters:')).toBe(false);
    await expect(checkToneMapping('ffmpeg', PQ, "a ladder's rungs")).resolves.toBeUndefined();
  });
});

// A build without libzimg (as some vendor ffmpeg builds are) cannot be run here: its listing is
// this machine's with the zscale line taken out.
describe('an ffmpeg built without libzimg', () => {
  const listing = execFileSync('ffmpeg', ['-hide_banner', '-filters'], { encoding: 'utf8' });
  const withoutZimg = filterNamesOf(
    listing
      .split('\n')
      .filter((line) => line.trim().split(/\s+/)[1] !== 'zscale')
      .join('\n'),
  );

  it('refuses an HDR source with a 422 naming the missing filter and the build option', () => {
    const refusal = toneMappingRefusal(withoutZimg, PQ, "a ladder's rungs");
    expect(refusal).toMatchObject({
      code: 'tone_mapping_unavailable',
      status: 422,
      permanent: true,
      details: { missing: ['zscale'] },
    });
    expect(refusal!.message).toMatch(/HDR \(PQ\).*no zscale filter.*--enable-libzimg/);
  });

  it('is no obstacle for an SDR source', async () => {
    await expect(checkToneMapping('ffmpeg', undefined, 'previews')).resolves.toBeUndefined();
  });
});
