import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusPolicy, type HostileCase, hostileCorpus } from '../../../test/security/corpus.ts';
import { FfleetError } from '../src/errors.ts';
import { buildArgv, workLayout } from '../src/ffmpeg/command.ts';
import { checkInputFiles } from '../src/ffmpeg/inputs.ts';
import { listOutputFiles } from '../src/ffmpeg/outputs.ts';
import { runFfmpeg } from '../src/ffmpeg/run.ts';
import { validateJob } from '../src/jobs/validate.ts';
import { PoolRegistry } from '../src/pools/registry.ts';

// The corpus refers to a loopback server by URL; it is started here so that any request
// ffmpeg might make is seen. It must see none.
const requests: string[] = [];
const server: Server = createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  res.end('#EXTM3U\n');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const ctx = { bucket: 'media', loopbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
const corpus = hostileCorpus(ctx);
const policy = corpusPolicy(ctx);
const pools = PoolRegistry.load();

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ffleet-corpus-'));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

function refusal(fn: () => unknown): FfleetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FfleetError) return err;
    throw err;
  }
  throw new Error('expected a refusal, but the job was accepted');
}

/** Writes a case's input objects where the worker would download them. */
async function download(c: HostileCase, dir: string) {
  const { plan } = validateJob(c.body, pools, policy);
  const layout = workLayout(dir);
  for (const [i, input] of plan.inputs.entries()) {
    const bytes = c.objects?.[input.url];
    if (!bytes) throw new Error(`${c.id}: no object for ${input.url}`);
    await mkdir(layout.inputDir(i), { recursive: true });
    await writeFile(join(layout.inputDir(i), input.localName), bytes);
  }
  for (let i = 0; i < plan.outputs.length; i++) await mkdir(layout.outputDir(i), { recursive: true });
  return { plan, layout };
}

/** Runs ffmpeg as the worker does (the one runner): argv only, cwd in the work dir, a clean environment. */
async function ffmpeg(argv: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  const run = await runFfmpeg({ binary: 'ffmpeg', argv, cwd, timeoutMs: 30_000 });
  return { code: run.exitCode, stderr: run.stderrTail.join('\n') };
}

describe('hostile corpus', () => {
  it('has at least 40 cases with unique ids, covering both stages', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((c) => c.id)).size).toBe(corpus.length);
    expect(corpus.filter((c) => c.expect.stage === 'inputs').length).toBeGreaterThanOrEqual(10);
  });

  const refusedAtValidation = corpus.filter((c) => c.expect.stage === 'validate');
  it.each(refusedAtValidation.map((c) => [c.id, c] as const))('%s is refused by validateJob', (_, c) => {
    const err = refusal(() => validateJob(c.body, pools, policy));
    expect(err.status).toBe(400);
    expect(err.code).toBe(c.expect.error);
    expect(err.message).toMatch(c.expect.message);
  });

  const refusedAfterDownload = corpus.filter((c) => c.expect.stage === 'inputs');
  it.each(refusedAfterDownload.map((c) => [c.id, c] as const))(
    '%s passes validateJob but is refused by checkInputFiles',
    async (id, c) => {
      const { plan, layout } = await download(c, join(root, 'check', id));
      const err = await checkInputFiles(plan, layout).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FfleetError);
      expect((err as FfleetError).code).toBe(c.expect.error);
      expect((err as FfleetError).message).toMatch(c.expect.message);
    },
  );

  // Defence in depth: even if checkInputFiles were skipped, the argv built for these jobs
  // (protocol and demuxer whitelists) keeps ffmpeg from reading /etc/passwd or reaching
  // the loopback server.
  it.each(refusedAfterDownload.map((c) => [c.id, c] as const))(
    '%s: ffmpeg run on the raw files reads nothing outside the job',
    async (id, c) => {
      const { plan, layout } = await download(c, join(root, 'raw', id));
      const before = requests.length;
      const { code, stderr } = await ffmpeg(buildArgv(plan, layout), layout.workDir);
      expect(requests.length, `requests to the loopback server: ${requests.slice(before)}`).toBe(before);
      const passwd = await readFile('/etc/passwd', 'utf8');
      for (const [i] of plan.outputs.entries()) {
        for (const file of await listOutputFiles(layout.outputDir(i))) {
          const bytes = await readFile(file.path);
          expect(bytes.includes(passwd.split('\n')[0]!), `${file.relativePath} holds /etc/passwd`).toBe(
            false,
          );
        }
      }
      if (id !== 'avi-gab2-playlist') expect(code, stderr).not.toBe(0);
    },
    40_000,
  );

  it('made no request to the loopback server', () => {
    expect(requests.filter((r) => !r.includes('/control'))).toEqual([]);
  });

  // Control: the loopback server does see ffmpeg when ffmpeg is pointed at it directly, so
  // "no request" above means none was made, not that none could be observed.
  it('sees a request when ffmpeg is asked to fetch from it directly', async () => {
    const dir = join(root, 'control');
    await mkdir(dir, { recursive: true });
    await ffmpeg(['-nostdin', '-i', `${ctx.loopbackUrl}/control.m3u8`, '-f', 'null', '-'], dir);
    expect(requests.some((r) => r.startsWith('GET /control'))).toBe(true);
  });
});
