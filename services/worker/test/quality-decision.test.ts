import { type JobSpec, PoolRegistry, validateJob } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { type FleetQuality, qualityDecision } from '../src/pipeline/stages/quality.ts';

const pools = PoolRegistry.load();
const fleetOn: FleetQuality = { measure: true, mode: 'sampled', subsample: 7 };
const fleetOff: FleetQuality = { ...fleetOn, measure: false };

function ladder(extra: Partial<JobSpec> = {}, inputOptions?: string) {
  const spec = {
    name: 'ladder',
    compute: 'intel',
    inputs: [{ url: 's3://media/in.mp4', ...(inputOptions ? { options: inputOptions } : {}) }],
    outputs: [{ url: 's3://media/out/' }],
    ladder: {},
    ...extra,
  };
  return validateJob(spec, pools, {});
}

describe("a ladder's quality decision", () => {
  it('measures its rungs as any job is measured: the job says, else the fleet default', () => {
    const { spec, plan } = ladder();
    expect(qualityDecision(spec, plan, fleetOn, 'rungs')).toEqual({
      measure: true,
      mode: 'sampled',
      subsample: 7,
    });
    expect(qualityDecision(spec, plan, fleetOff, 'rungs')).toEqual({ measure: false });
    const asked = ladder({ quality: { mode: 'full' } });
    expect(qualityDecision(asked.spec, asked.plan, fleetOff, 'rungs')).toEqual({
      measure: true,
      mode: 'full',
      subsample: 7,
    });
    const optedOut = ladder({ quality: false });
    expect(qualityDecision(optedOut.spec, optedOut.plan, fleetOn, 'rungs')).toEqual({ measure: false });
  });

  it('is not held back by its folder output, which its rungs are not compared through', () => {
    const { spec, plan } = ladder();
    // Compared as one output, a folder has nothing to measure.
    expect(qualityDecision(spec, plan, fleetOn)).toMatchObject({
      notApplicable: 'the first output is a folder, not one video file',
    });
    expect(qualityDecision(spec, plan, fleetOn, 'rungs')).not.toHaveProperty('notApplicable');
  });

  it('says why when the input starts later than the source the rungs are compared with', () => {
    const { spec, plan } = ladder({ quality: true }, '-ss 5');
    expect(qualityDecision(spec, plan, fleetOff, 'rungs')).toMatchObject({
      measure: true,
      notApplicable: expect.stringContaining('-ss starts the output later than the input'),
    });
  });
});
