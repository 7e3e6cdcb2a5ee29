import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listOutputFiles } from '../src/ffmpeg/outputs.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-outputs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('listOutputFiles', () => {
  it('returns the regular files, recursively, with key-ready relative paths', async () => {
    await mkdir(join(dir, 'out', 'v1'), { recursive: true });
    await writeFile(join(dir, 'out', 'index.m3u8'), '#EXTM3U\n');
    await writeFile(join(dir, 'out', 'v1', 'seg_000.ts'), 'x'.repeat(10));
    const files = await listOutputFiles(join(dir, 'out'));
    expect(files).toEqual([
      { path: join(dir, 'out', 'index.m3u8'), relativePath: 'index.m3u8', size: 8 },
      { path: join(dir, 'out', 'v1', 'seg_000.ts'), relativePath: 'v1/seg_000.ts', size: 10 },
    ]);
  });

  it('never returns or follows symlinks, FIFOs or unsafe names', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'ok.mp4'), 'ok');
    await symlink('/etc/passwd', join(out, 'passwd.mp4'));
    await symlink('/etc', join(out, 'etc'));
    await symlink(join(dir, 'outside'), join(out, 'dangling'));
    execFileSync('mkfifo', [join(out, 'pipe.ts')]);
    await writeFile(join(out, 'bad\nname.ts'), 'x');
    await writeFile(join(out, 'back\\slash.ts'), 'x');
    expect((await listOutputFiles(out)).map((f) => f.relativePath)).toEqual(['ok.mp4']);
  });

  it('refuses a folder that is itself a symlink', async () => {
    await symlink('/etc', join(dir, 'out'));
    await expect(listOutputFiles(join(dir, 'out'))).rejects.toThrow(/not a directory/);
  });

  it('limits how many files and how deep', async () => {
    const out = join(dir, 'out');
    await mkdir(join(out, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(out, 'a', 'b', 'c', 'deep.ts'), 'x');
    for (let i = 0; i < 4; i++) await writeFile(join(out, `f${i}.ts`), 'x');
    expect(
      (await listOutputFiles(out, { maxFiles: 10, maxDepth: 3 })).map((f) => f.relativePath),
    ).not.toContain('a/b/c/deep.ts');
    expect((await listOutputFiles(out, { maxFiles: 10, maxDepth: 4 })).map((f) => f.relativePath)).toContain(
      'a/b/c/deep.ts',
    );
    await expect(listOutputFiles(out, { maxFiles: 3, maxDepth: 8 })).rejects.toThrow(/more than 3 files/);
  });
});
