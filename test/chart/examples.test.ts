import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PoolRegistry, validateJob } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../scripts/cluster/yaml.ts';
import { everyOption, find, kubeconform, parseManifests, renderChart, repoRoot } from './support/chart.ts';

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

describe('the EKS example values and IAM policy', () => {
  const valuesFile = join(repoRoot, 'k8s/examples/values-eks.yaml');
  const values = parseYaml(readFileSync(valuesFile, 'utf8')) as {
    image: { registry: string; tag: string };
    fleet: { allowedBuckets: string[] };
  };

  it('render valid objects whose images come from the registry make images pushed to', async () => {
    const text = await renderChart(values);
    expect((await kubeconform({ text })).code).toBe(0);
    const objects = parseManifests(text);
    const images = objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => o.spec.template.spec.containers[0].image as string);
    expect(images.sort()).toEqual(
      ['gateway', 'worker-cpu', 'worker-cpu', 'worker-cpu', 'worker-nvidia'].map(
        (name) => `${values.image.registry}/ffleet/${name}:${values.image.tag}`,
      ),
    );
    // KEDA is optional in the walkthrough and the xilinx pool deferred: neither may be needed to install.
    expect(objects.filter((o) => o.kind === 'ScaledObject')).toEqual([]);
    expect(objects.some((o) => o.metadata.name === 'ffleet-worker-xilinx')).toBe(false);
  }, 120_000);

  it("has the load balancer check the gateway's health path, not / (which answers 404)", async () => {
    const objects = parseManifests(await renderChart(values));
    const ingress = find(objects, 'Ingress', 'ffleet-gateway');
    const gateway = find(objects, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0];
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/healthcheck-path']).toBe(
      gateway.livenessProbe.httpGet.path,
    );
  }, 120_000);

  it('grants objects Get/Put/AbortMultipartUpload/Delete and buckets ListBucket/ListBucketMultipartUploads, for the allowed buckets only', () => {
    const policy = JSON.parse(readFileSync(join(repoRoot, 'k8s/examples/iam-policy-s3.json'), 'utf8')) as {
      Statement: { Effect: string; Action: string[]; Resource: string[] }[];
    };
    const grants = Object.fromEntries(
      policy.Statement.map((s) => [s.Action.sort().join(','), s.Resource.sort()]),
    );
    const buckets = values.fleet.allowedBuckets.map((b) => `arn:aws:s3:::${b}`).sort();
    expect(grants).toEqual({
      's3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:PutObject': buckets.map((b) => `${b}/*`),
      's3:ListBucket,s3:ListBucketMultipartUploads': buckets,
    });
    expect(policy.Statement.every((s) => s.Effect === 'Allow')).toBe(true);
  });
});
