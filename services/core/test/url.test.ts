import { describe, expect, it } from 'vitest';
import { baseName, childUrl, parseStorageUrl } from '../src/storage/url.ts';

describe('parseStorageUrl', () => {
  it('parses s3 objects and folders', () => {
    expect(parseStorageUrl('s3://media/in/a b.mp4')).toEqual({
      scheme: 's3',
      bucket: 'media',
      key: 'in/a b.mp4',
      folder: false,
    });
    const folder = parseStorageUrl('s3://media/out/hls/');
    expect(folder).toMatchObject({ key: 'out/hls/', folder: true });
    expect(childUrl(folder, 'seg_000.ts')).toMatchObject({ key: 'out/hls/seg_000.ts', folder: false });
    expect(baseName(parseStorageUrl('s3://media/dir/Café 東京.mov'))).toBe('Café 東京.mov');
  });

  it('takes names that only look like dot segments', () => {
    for (const key of ['.hidden/a..b.mp4', 'out/.../x.mp4', 'out/..x/.y', 'a/b.', 'out/x../']) {
      expect(parseStorageUrl(`s3://media/${key}`)).toMatchObject({ key });
    }
    for (const key of ['out/./', 'out//', 'out/..', './x.mp4']) {
      expect(() => parseStorageUrl(`s3://media/${key}`), key).toThrow(/path segment/);
    }
  });

  it.each([
    ['s3://media/../../etc/passwd', /".." path segment/],
    ['s3://media/out/../../../etc/cron.d/x', /".." path segment/],
    ['s3://media/./x.mp4', /"\." path segment/],
    ['s3://media//etc/passwd', /must not be absolute/],
    ['s3://media/a//b.mp4', /"\/\/" path segment/],
    ['s3://media/out\\..\\..\\x.mp4', /control character or backslash/],
    ['s3://media/out/x\u0000.mp4', /control character or backslash/],
    ['s3://media/out/x\n.mp4', /control character or backslash/],
    ['s3://media/out/\u202egpm.exe', /invisible Unicode format character/],
    ['s3://media/out/a\u200b/x.mp4', /invisible Unicode format character/],
    ['s3://media/out/\uff0e\uff0e/x.mp4', /reads as "\.\."/],
    ['s3://media/out/\u2024\u2024/x.mp4', /reads as "\.\."/],
    ['s3://media/out/\ufe52\ufe52/x.mp4', /reads as "\.\."/],
    ['s3://media/out/..\u2215..\u2215x.mp4', /reads as "\.\.\/\.\.\/x\.mp4"/],
    ['s3://media/out/a\uff0fb.mp4', /reads as "a\/b\.mp4"/],
    ['s3://media/out/a\uff3cb.mp4', /Unicode look-alike/],
    ['s3://media/out/\ud800.mp4', /not valid Unicode/],
    [`s3://media/${'a/'.repeat(600)}x.mp4`, /longer than 1024 bytes/],
    [`s3://media/${'x'.repeat(2100)}`, /longer than 2048 characters/],
    ['http://127.0.0.1/x.mp4', /scheme "http" is not allowed/],
    ['file:///etc/passwd', /file:\/\/ URLs are disabled/],
    ['concat:/etc/passwd|/etc/hosts', /scheme "concat" is not allowed/],
    ['/etc/passwd', /scheme "\/etc\/passwd" is not allowed/],
    ['s3://Bad_Bucket/x.mp4', /not a valid S3 bucket name/],
    ['s3://media', /has no object key/],
  ])('refuses %s', (url, message) => {
    expect(() => parseStorageUrl(url)).toThrow(message);
  });

  it('allows only the configured buckets', () => {
    const policy = { allowedBuckets: ['media', 'archive'] };
    expect(parseStorageUrl('s3://archive/x.mp4', policy)).toMatchObject({ bucket: 'archive' });
    expect(() => parseStorageUrl('s3://other/x.mp4', policy)).toThrow(/bucket "other" is not in this fleet/);
  });

  it('keeps file:// paths relative to the file root when enabled', () => {
    expect(parseStorageUrl('file:///media/in.mp4', { allowFile: true })).toEqual({
      scheme: 'file',
      path: 'media/in.mp4',
      folder: false,
    });
    expect(() => parseStorageUrl('file:///../etc/passwd', { allowFile: true })).toThrow(/".." path segment/);
  });
});
