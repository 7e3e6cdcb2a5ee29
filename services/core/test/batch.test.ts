import {
  type BatchSpec,
  type FfleetError,
  manifestCsv,
  manifestUrls,
  PoolRegistry,
  planBatch,
} from '@ffleet/core';
import { describe, expect, it } from 'vitest';

const pools = PoolRegistry.load();

const batch: BatchSpec = {
  name: 'proxies',
  compute: 'intel',
  inputOptions: '-ss 1',
  outputs: [
    { url: 's3://media/proxies/{stem}-{index}.{ext}', options: '-vf scale=-2:540 -c:v libx264 -crf 28' },
  ],
  priority: 7,
  quality: false,
};

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    return (error as FfleetError).code;
  }
}

describe('batches', () => {
  it('fill each item’s outputs from its input and keep the template', () => {
    const { items } = planBatch(
      batch,
      ['s3://media/raw/a.mov', 's3://media/raw/day 2/b.clip.mp4'],
      pools,
      {},
    );
    expect(items.map((i) => i.spec.outputs[0]!.url)).toEqual([
      's3://media/proxies/a-0.mov',
      's3://media/proxies/b.clip-1.mp4',
    ]);
    expect(items[1]!.spec).toEqual({
      name: 'proxies',
      compute: 'intel',
      inputs: [{ url: 's3://media/raw/day 2/b.clip.mp4', options: '-ss 1' }],
      outputs: [{ url: 's3://media/proxies/b.clip-1.mp4', options: '-vf scale=-2:540 -c:v libx264 -crf 28' }],
      priority: 7,
      quality: false,
    });
  });

  it('keep the folders below a listed prefix with {path}', () => {
    const { items } = planBatch(
      { ...batch, outputs: [{ url: 's3://media/proxies/{path}.mp4' }] },
      ['s3://media/raw/2026/a.mov', 's3://media/raw/2027/a.mov'],
      pools,
      {},
      's3://media/raw/',
    );
    expect(items.map((i) => i.spec.outputs[0]!.url)).toEqual([
      's3://media/proxies/2026/a.mp4',
      's3://media/proxies/2027/a.mp4',
    ]);
  });

  it('refuse two items writing one output, an unknown placeholder, a missing one, a bad template or URL', () => {
    const same = { ...batch, outputs: [{ url: 's3://media/proxies/{stem}.mp4' }] };
    expect(codeOf(() => planBatch(same, ['s3://media/a/x.mov', 's3://media/b/x.mov'], pools, {}))).toBe(
      'duplicate_output',
    );
    expect(
      codeOf(() =>
        planBatch({ ...batch, outputs: [{ url: 's3://media/{basename}.mp4' }] }, ['s3://media/a'], pools, {}),
      ),
    ).toBe('invalid_job');
    expect(
      codeOf(() =>
        planBatch(
          { ...batch, outputs: [{ url: 's3://media/out.mp4' }] },
          ['s3://media/a', 's3://media/b'],
          pools,
          {},
        ),
      ),
    ).toBe('invalid_job');
    expect(
      codeOf(() => planBatch({ ...batch, inputOptions: '-i /etc/passwd' }, ['s3://media/a'], pools, {})),
    ).toBe('unsafe_job');
    expect(codeOf(() => planBatch(batch, ['s3://media/a', 's3://media/../etc/passwd'], pools, {}))).toBe(
      'invalid_job',
    );
    expect(
      codeOf(() => planBatch(batch, ['s3://media/a', 's3://other/b'], pools, { allowedBuckets: ['media'] })),
    ).toBe('unsafe_job');
    expect(codeOf(() => planBatch(batch, [], pools, {}))).toBe('empty_batch');
  });

  it('put the manifest beside the first output pattern', () => {
    expect(manifestUrls(batch, 'b1')).toEqual({
      json: 's3://media/proxies/proxies-b1.manifest.json',
      csv: 's3://media/proxies/proxies-b1.manifest.csv',
    });
    expect(manifestUrls({ ...batch, outputs: [{ url: 's3://media/out/{stem}/' }] }, 'b2').json).toBe(
      's3://media/out/proxies-b2.manifest.json',
    );
  });

  it('write a CSV row per output, quoting and defusing cells', () => {
    const csv = manifestCsv([
      {
        index: 0,
        jobId: 'b1-0',
        input: 's3://media/a,1.mov',
        state: 'succeeded',
        outputs: [{ url: 's3://media/out/a.mp4', bytes: 42 }],
      },
      {
        index: 1,
        jobId: 'b1-1',
        input: 's3://media/b.mov',
        state: 'failed',
        outputs: [],
        error: { code: 'input_missing', message: '=HYPERLINK("x") "quoted"' },
      },
    ]);
    expect(csv).toBe(
      'index,job_id,input,state,output,bytes,error_code,error_message\n' +
        '0,b1-0,"s3://media/a,1.mov",succeeded,s3://media/out/a.mp4,42,,\n' +
        `1,b1-1,s3://media/b.mov,failed,,,input_missing,"'=HYPERLINK(""x"") ""quoted"""\n`,
    );
  });
});
