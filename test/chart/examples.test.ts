import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PoolRegistry, validateJob } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { everyOption, find, parseManifests, renderChart, repoRoot } from './support/chart.ts';

// The example jobs in k8s/examples are what the operations guide tells users to POST: each must pass the
// gateway's validation against the pools the chart mounts, and reach the pool its file name says.
const examples = readdirSync(join(repoRoot, 'k8s/examples')).filter((f) => /^job-.+\.json$/.test(f));

describe('example jobs', () => {
  it.each(examples)('%s is a valid job for the chart-rendered pool registry', async (file) => {
    const configMap = find(parseManifests(await renderChart(everyOption)), 'ConfigMap', 'ffleet-pools');
    const pools = PoolRegistry.fromYaml(configMap.data['pools.yaml']);
    const body = JSON.parse(readFileSync(join(repoRoot, 'k8s/examples', file), 'utf8'));
    const { pool } = validateJob(body, pools, {
      allowedBuckets: everyOption.fleet.allowedBuckets.concat('my-media-in', 'my-media-out'),
    });
    expect(pool.name).toBe(/^job-(.+)\.json$/.exec(file)![1]);
  });
});
