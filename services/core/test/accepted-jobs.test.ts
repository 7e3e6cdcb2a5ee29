import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedJobs, type OutputExpectation } from '../../../test/security/accepted.ts';
import { removeFixtures, writeFixture } from '../../../test/security/fixtures.ts';
import { buildArgv, outputPath, probeInputArgs, workLayout } from '../src/ffmpeg/command.ts';
import { checkInputFiles } from '../src/ffmpeg/inputs.ts';
import { listOutputFiles } from '../src/ffmpeg/outputs.ts';
import { ffmpegOutput, runFfmpeg } from '../src/ffmpeg/run.ts';
import { validateJob } from '../src/jobs/validate.ts';
import { PoolRegistry } from '../src/pools/registry.ts';

const bucket = 'media';
const policy = { allowedBuckets: [bucket] };
const pools = PoolRegistry.load();
const jobs = acceptedJobs({ bucket });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ffleet-accepted-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await removeFixtures();
});

/** Runs ffmpeg as the worker does (the one runner): argv only, cwd in the work dir, a clean environment. */
async function ffmpeg(argv: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  const run = await runFfmpeg({ binary: 'ffmpeg', argv, cwd, timeoutMs: 120_000 });
  return { code: run.exitCode, stderr: run.stderrTail.join('\n') };
}

async function streamsAndDuration(path: string): Promise<{ streams: string[]; duration: number }> {
  const stdout = await ffmpegOutput('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type:format=duration',
    '-of',
    'json',
    path,
  ]);
  const info = JSON.parse(stdout) as { streams: { codec_type: string }[]; format: { duration?: string } };
  return {
    streams: info.streams.map((s) => s.codec_type),
    duration: Number(info.format.duration ?? Number.NaN),
  };
}

describe('accepted jobs', () => {
  it('cover the demo and the AWS sample examples', () => {
    expect(jobs.length).toBeGreaterThanOrEqual(20);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
  });

  it.each(jobs.map((j) => [j.id, j] as const))('%s passes validation', (_, job) => {
    const { plan } = validateJob(job.body, pools, policy);
    expect(plan.outputs).toHaveLength(job.outputs.length);
  });

  const runnable = jobs.filter((j) => !j.needs);
  it.each(runnable.map((j) => [j.id, j] as const))(
    '%s runs with real ffmpeg on generated media',
    async (id, job) => {
      const { plan } = validateJob(job.body, pools, policy);
      const layout = workLayout(join(root, id));
      for (const [i, input] of plan.inputs.entries()) {
        const fixture = job.media[input.url];
        if (!fixture) throw new Error(`${id}: no media for ${input.url}`);
        await writeFixture(fixture, join(layout.inputDir(i), input.localName));
      }
      for (let i = 0; i < plan.outputs.length; i++) await mkdir(layout.outputDir(i), { recursive: true });
      await checkInputFiles(plan, layout);

      // The worker probes inputs with the same hardening as the job's command.
      for (let i = 0; i < plan.inputs.length; i++) {
        await ffmpegOutput('ffprobe', [
          '-v',
          'error',
          '-show_entries',
          'format=duration',
          ...probeInputArgs(plan, layout, i),
        ]);
      }

      const { code, stderr } = await ffmpeg(buildArgv(plan, layout), layout.workDir);
      expect(code, stderr).toBe(0);

      for (const [i, expected] of job.outputs.entries()) {
        await checkOutput(
          expected,
          plan.outputs[i]!.folder,
          layout.outputDir(i),
          outputPath(plan, layout, i),
        );
      }
    },
    120_000,
  );
});

async function checkOutput(expected: OutputExpectation, folder: boolean, dir: string, main: string) {
  if (folder) {
    const files = (await listOutputFiles(dir)).map((f) => f.relativePath);
    for (const want of expected.files ?? []) {
      expect(
        files.some((f) => (typeof want === 'string' ? f === want : want.test(f))),
        `${want} in ${files}`,
      ).toBe(true);
    }
    return;
  }
  const { streams, duration } = await streamsAndDuration(main);
  if (expected.streams) expect(streams).toEqual(expected.streams);
  if (expected.duration) {
    expect(duration).toBeGreaterThanOrEqual(expected.duration[0]);
    expect(duration).toBeLessThanOrEqual(expected.duration[1]);
  }
}
