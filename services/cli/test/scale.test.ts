import { describe, expect, it } from 'vitest';
import { scaleArgs } from '../src/commands/scale.ts';

describe('ffleet scale', () => {
  it("scales the pool's worker Deployment by the chart's labels", () => {
    expect(scaleArgs('nvidia', '3', { namespace: 'media', release: 'prod' })).toEqual([
      'scale',
      'deployment',
      '--namespace',
      'media',
      '--selector',
      'app.kubernetes.io/instance=prod,app.kubernetes.io/component=worker,ffleet.io/pool=nvidia',
      '--replicas=3',
    ]);
  });

  it('refuses what kubectl should never see', () => {
    const opts = { namespace: 'ffleet', release: 'ffleet' };
    expect(() => scaleArgs('nvidia,ffleet.io/pool=intel', '1', opts)).toThrow(/not a pool name/);
    expect(() => scaleArgs('intel', '-1', opts)).toThrow(/whole number/);
    expect(() => scaleArgs('intel', '2; rm -rf /', opts)).toThrow(/whole number/);
    expect(() => scaleArgs('intel', '1', { ...opts, namespace: '--all-namespaces' })).toThrow(
      /not a namespace/,
    );
  });
});
