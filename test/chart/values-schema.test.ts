import { describe, expect, it } from 'vitest';
import { helmTemplate } from './support/chart.ts';

// values.schema.json turns a mistyped or impossible value into an error that names the key, before anything
// reaches a cluster.
const cases: [label: string, values: object, message: RegExp][] = [
  [
    'a misspelt pool key',
    { pools: { intel: { concurency: 2 } } },
    /\/pools\/intel.*additional properties 'concurency'/,
  ],
  [
    'zero concurrency',
    { pools: { intel: { concurrency: 0 } } },
    /\/pools\/intel\/concurrency.*minimum: got 0, want 1/,
  ],
  ['an unknown arch', { pools: { arm: { arch: 'aarch64' } } }, /\/pools\/arm\/arch.*'amd64', 'arm64'/],
  [
    'an accelerator pool requesting the wrong device',
    { pools: { xilinx: { deviceResources: { 'amd.com/ama_u30': null, 'nvidia.com/gpu': 1 } } } },
    /\/pools\/xilinx\/deviceResources.*missing property 'amd.com\/ama_u30'/s,
  ],
  ['an unknown accelerator', { pools: { nvidia: { accelerator: 'cuda' } } }, /\/pools\/nvidia\/accelerator/],
  [
    'a GPU pool without its device',
    { pools: { nvidia: { enabled: true, deviceResources: null } } },
    /\/pools\/nvidia.*missing property 'deviceResources'/s,
  ],
  [
    'a bad instance type',
    { pools: { intel: { instanceTypes: ['c6i large'] } } },
    /\/pools\/intel\/instanceTypes\/0/,
  ],
  ['a bad pool name', { pools: { GPU_Pool: { enabled: false } } }, /GPU_Pool/],
  [
    'a bad scratch size',
    { pools: { intel: { scratchSizeLimit: '20GB' } } },
    /\/pools\/intel\/scratchSizeLimit/,
  ],
  [
    'an external Redis without a URL',
    { redis: { mode: 'external' } },
    /\/redis\/external.*(existingSecret|url)/s,
  ],
  ['an unknown quality mode', { fleet: { qualityMode: 'fast' } }, /\/fleet\/qualityMode.*'sampled', 'full'/],
  ['an every-frame subsample', { fleet: { qualitySubsample: 1 } }, /\/fleet\/qualitySubsample.*minimum/],
  ['an unknown Redis mode', { redis: { mode: 'cluster' } }, /\/redis\/mode.*'internal', 'external'/],
  [
    'a role that is not an IAM role ARN',
    { serviceAccount: { roleArn: 'ffleet-s3' } },
    /\/serviceAccount\/roleArn/,
  ],
  [
    'a string grace period',
    { workers: { shutdownGraceSeconds: '90' } },
    /\/workers\/shutdownGraceSeconds.*got string, want integer/,
  ],
  [
    'a webhook with no tries',
    { fleet: { webhooks: { attempts: 0 } } },
    /\/fleet\/webhooks\/attempts.*minimum/,
  ],
  [
    'a string stall limit',
    { workers: { maxStalledCount: '2' } },
    /\/workers\/maxStalledCount.*got string, want integer/,
  ],
  ['a short API token', { gateway: { auth: { tokens: ['abc'] } } }, /\/gateway\/auth\/tokens\/0.*minLength/],
  [
    'a token prefix that does not end in /',
    {
      gateway: {
        auth: {
          scopedTokens: [{ name: 'a', token: 'a-long-enough-api-token-0001', prefixes: ['s3://media/a'] }],
        },
      },
    },
    /\/gateway\/auth\/scopedTokens\/0\/prefixes\/0/,
  ],
  [
    'a thread cap written as text',
    { pools: { intel: { ffmpegLimits: { threads: '2' } } } },
    /\/pools\/intel\/ffmpegLimits\/threads.*got string, want integer/,
  ],
  [
    'a misspelt ffmpeg limit',
    { pools: { intel: { ffmpegLimits: { maxPixels: 8_294_400 } } } },
    /\/pools\/intel\/ffmpegLimits.*additional properties 'maxPixels'/,
  ],
  ['a queue cap of zero', { pools: { intel: { maxQueued: 0 } } }, /\/pools\/intel\/maxQueued.*minimum/],
  [
    'a negative rate limit',
    { gateway: { rateLimit: { max: -1, windowSeconds: 60 } } },
    /\/gateway\/rateLimit\/max/,
  ],
  [
    'a KEDA address with a scheme',
    { autoscaling: { redisAddress: 'redis://r:6379' } },
    /\/autoscaling\/redisAddress/,
  ],
];

describe('values.schema.json', () => {
  it.each(cases)('rejects %s with a message naming the key', async (_label, values, message) => {
    const result = await helmTemplate(values);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toMatch(message);
  });

  it('accepts a pool added by the user in the registry format', async () => {
    const result = await helmTemplate({
      pools: {
        'intel-big': {
          enabled: true,
          family: 'intel',
          queue: 'ffleet-intel-big',
          arch: 'amd64',
          accelerator: 'none',
          instanceTypes: ['c6i.16xlarge'],
          concurrency: 4,
          encoders: ['libx264'],
          hwaccels: [],
          resources: { requests: { cpu: '30', memory: '56Gi' } },
          scratchSizeLimit: '100Gi',
        },
      },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('name: ffleet-worker-intel-big');
  });

  it('refuses to render a fleet with no pool, saying how to enable one', async () => {
    const off = { enabled: false };
    const result = await helmTemplate({ pools: { intel: off, amd: off, arm: off } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('enable at least one pool');
  });
});
