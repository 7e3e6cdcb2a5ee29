import {
  BATCH_JSON_LIMITS,
  batchChildId,
  batchItemState,
  checkJsonLimits,
  countBatchItems,
  type JobData,
  webhookPayload,
} from '@ffleet/core';
import { describe, expect, it } from 'vitest';

describe('batch child ids', () => {
  const batch = '0f8b3c2e-1d2a-4c5b-9e8f-7a6b5c4d3e2f';

  it('give items and the gate ids without a colon, and read an item index back from an id or a Redis key', () => {
    expect(batchChildId.item(batch, 42)).toBe(`${batch}-i42`);
    expect(batchChildId.gate(batch)).toBe(`${batch}-gate`);
    expect(batchChildId.item(batch, 9999)).not.toContain(':');
    expect(batchChildId.indexOf(batch, `${batch}-i42`)).toBe(42);
    expect(batchChildId.indexOf(batch, `{t1}:ffleet-intel:${batch}-i7`)).toBe(7);
  });

  it('read nothing from the gate, another batch or a chunk', () => {
    expect(batchChildId.indexOf(batch, batchChildId.gate(batch))).toBeUndefined();
    expect(batchChildId.indexOf(batch, `other-i3`)).toBeUndefined();
    expect(batchChildId.indexOf(batch, `${batch}-c3`)).toBeUndefined();
    expect(batchChildId.indexOf(batch, `${batch}-i`)).toBeUndefined();
  });
});

describe('an item state', () => {
  it('comes from the parent records, the active list and the cancel marker', () => {
    expect(batchItemState({ succeeded: true, running: false }, false)).toBe('succeeded');
    expect(
      batchItemState(
        { succeeded: false, running: false, failedReason: 'input object does not exist' },
        false,
      ),
    ).toBe('failed');
    expect(
      batchItemState({ succeeded: false, running: false, failedReason: 'cancelled: by request' }, true),
    ).toBe('cancelled');
    expect(batchItemState({ succeeded: false, running: true }, false)).toBe('running');
    expect(batchItemState({ succeeded: false, running: false }, false)).toBe('queued');
    // A cancelled batch's unstarted items are removed, or stopped before they start.
    expect(batchItemState({ succeeded: false, running: false }, true)).toBe('cancelled');
    // A failure stays a failure after a cancel.
    expect(batchItemState({ succeeded: false, running: false, failedReason: 'ffmpeg exited 1' }, true)).toBe(
      'failed',
    );
  });

  it('is failed for an item with no record once the batch has ended: it was never queued', () => {
    expect(batchItemState({ succeeded: false, running: false }, false, true)).toBe('failed');
    expect(batchItemState({ succeeded: false, running: false }, true, true)).toBe('cancelled');
    expect(batchItemState({ succeeded: true, running: false }, false, true)).toBe('succeeded');
  });

  it('adds up into counts', () => {
    expect(
      countBatchItems(['succeeded', 'failed', 'succeeded', 'queued', 'running', 'cancelled'], 6),
    ).toEqual({
      total: 6,
      queued: 1,
      running: 1,
      succeeded: 2,
      failed: 1,
      cancelled: 1,
    });
  });
});

describe('a batch body', () => {
  it('may hold 10 000 URLs beside its template, where a job body may not', () => {
    const body = {
      name: 'many',
      compute: 'intel',
      items: Array.from({ length: 10_000 }, (_, i) => `s3://b/in/${i}.mov`),
      outputs: [{ url: 's3://b/out/{stem}.mp4', options: '-c copy' }],
    };
    expect(() => checkJsonLimits(body, BATCH_JSON_LIMITS)).not.toThrow();
    expect(() => checkJsonLimits(body)).toThrow(/more than 4096 values/);
    expect(() =>
      checkJsonLimits({ ...body, items: [...body.items, ...body.items.slice(0, 4100)] }, BATCH_JSON_LIMITS),
    ).toThrow(/values/);
  });
});

describe("a batch's webhook", () => {
  it('carries its final counts and manifest; a job webhook has no batch field', () => {
    const counts = { total: 3, queued: 0, running: 0, succeeded: 2, failed: 1, cancelled: 0 };
    const manifest = { json: 's3://b/out/x.manifest.json', csv: 's3://b/out/x.manifest.csv' };
    const spec = {
      name: 'x',
      compute: 'intel',
      inputs: [{ url: 's3://b/in/a.mov' }],
      outputs: [{ url: 's3://b/out/a.mp4' }],
    };
    const data: JobData = {
      spec,
      pool: 'intel',
      submittedAt: 0,
      pipeline: { kind: 'batch', inputs: ['s3://b/in/a.mov'], manifest, counts },
    };
    expect(webhookPayload('id', data, 'succeeded', 0, null, null).job.batch).toEqual({ counts, manifest });
    expect(
      webhookPayload('id', { spec, pool: 'intel', submittedAt: 0 }, 'succeeded', 0, null, null).job,
    ).not.toHaveProperty('batch');
  });
});
