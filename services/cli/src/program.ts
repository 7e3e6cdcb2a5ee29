import { readFile } from 'node:fs/promises';
import { JOB_STATES, type JobView } from '@ffleet/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GatewayClient } from './client.ts';
import {
  type BatchFlags,
  batchFromFlags,
  manifestOutputs,
  printBatch,
  watchBatch,
} from './commands/batch.ts';
import { playJob } from './commands/play.ts';
import { formatBytes, printJob } from './commands/print.ts';
import { scalePool } from './commands/scale.ts';
import { downloadAll, inputUrls } from './commands/transfer.ts';
import { watchJob } from './commands/watch.ts';
import { type CliConfig, loadCliConfig } from './config.ts';
import { DIMENSIONS, type Dimension } from './report/aggregate.ts';
import { runReport } from './report/run.ts';

interface SubmitFlags {
  file?: string;
  name?: string;
  compute?: string;
  instanceType?: string;
  globalOptions?: string;
  input: string[];
  inputOptions: string[];
  output: string[];
  outputOptions: string[];
  priority?: string;
  watch?: boolean;
  split?: number;
  previews?: string | true;
  ladder?: string | true;
  target?: TargetFlag;
  uploadTo?: string;
  download?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

interface ReportFlags {
  bucket?: string;
  since?: Date;
  until?: Date;
  pool?: string[];
  by?: Dimension[];
  prices?: string;
  csv?: string;
  html?: string;
}

/** A UTC day, `YYYY-MM-DD`, or `Nd`: N days before today. */
export function parseDay(value: string): Date {
  const ago = /^(\d{1,4})d$/.exec(value);
  if (ago) {
    const day = new Date();
    day.setUTCHours(0, 0, 0, 0);
    day.setUTCDate(day.getUTCDate() - Number(ago[1]));
    return day;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const day = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(day.getTime()) && day.toISOString().startsWith(value)) return day;
  }
  throw new InvalidArgumentError('expected a day as YYYY-MM-DD, or Nd for N days ago');
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('expected a number of seconds');
  return seconds;
}

/** `--previews '{"animations": {"snippetSeconds": 10}}'`, `--ladder '{"chunkSeconds": 30}'`: a JSON object of the job body. */
function parseObject(flag: string, value: string, example: string): Record<string, unknown> {
  try {
    const object = JSON.parse(value) as unknown;
    if (object && typeof object === 'object' && !Array.isArray(object))
      return object as Record<string, unknown>;
  } catch {
    /* said below */
  }
  throw new InvalidArgumentError(`--${flag} takes a JSON object, e.g. '${example}'`);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new InvalidArgumentError('a port from 1 to 65535');
  return port;
}

function parseDimension(value: string, previous: Dimension[] = []): Dimension[] {
  if (!(DIMENSIONS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${DIMENSIONS.join(', ')}`);
  return [...previous, value as Dimension];
}

type TargetFlag = { metric: string; min: number; max?: number };

/** `--target ssim:0.96` or `--target vmaf:93-95`: the metric, its lowest score, and maybe its highest. */
export function parseTarget(value: string): TargetFlag {
  const match = /^(vmaf|ssim|psnr):(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(value);
  if (!match)
    throw new InvalidArgumentError('expected metric:min or metric:min-max, e.g. ssim:0.96 or vmaf:93-95');
  const target: TargetFlag = { metric: match[1]!, min: Number(match[2]) };
  if (match[3] !== undefined) target.max = Number(match[3]);
  return target;
}

/** Builds a job spec from a JSON file, flags, or both (flags win). */
export async function jobFromFlags(flags: SubmitFlags): Promise<Record<string, unknown>> {
  const spec: Record<string, unknown> = flags.file ? JSON.parse(await readFile(flags.file, 'utf8')) : {};
  if (flags.name) spec.name = flags.name;
  if (flags.compute) spec.compute = flags.compute;
  if (flags.instanceType) spec.instanceType = flags.instanceType;
  if (flags.globalOptions) spec.globalOptions = flags.globalOptions;
  if (flags.priority) spec.priority = Number(flags.priority);
  if (flags.split !== undefined) spec.split = { segmentSeconds: flags.split };
  if (flags.previews !== undefined)
    spec.previews =
      flags.previews === true
        ? {}
        : parseObject('previews', flags.previews, '{"animations": {"snippetSeconds": 10}}');
  if (flags.ladder !== undefined)
    spec.ladder =
      flags.ladder === true
        ? {}
        : parseObject('ladder', flags.ladder, '{"codec": "hevc", "chunkSeconds": 30}');
  if (flags.target) spec.targetQuality = flags.target;
  if (flags.input.length > 0) {
    spec.inputs = flags.input.map((url, i) =>
      flags.inputOptions[i] ? { url, options: flags.inputOptions[i] } : { url },
    );
  }
  if (flags.output.length > 0) {
    spec.outputs = flags.output.map((url, i) =>
      flags.outputOptions[i] ? { url, options: flags.outputOptions[i] } : { url },
    );
  }
  return spec;
}

export function buildProgram(config: CliConfig = loadCliConfig()): Command {
  const program = new Command('ffleet')
    .description('Run FFmpeg jobs on an ffleet worker fleet')
    .option(
      '-g, --gateway <url>',
      'gateway URL (default: $FFLEET_GATEWAY, .ffleet/dev.env, http://127.0.0.1:8080)',
    )
    .showHelpAfterError();
  const defaultUploadTo = config.uploadTo;
  const uploadHelp = defaultUploadTo ? `default ${defaultUploadTo}` : 'an s3:// folder URL';
  const client = () =>
    new GatewayClient((program.opts().gateway ?? config.gateway).replace(/\/$/, ''), config.token);

  program
    .command('submit')
    .description('submit a job from a JSON file and/or flags')
    .argument('[file]', 'job spec JSON (the POST /v1/jobs body)')
    .option('-n, --name <name>', 'job name')
    .option('-c, --compute <family>', 'pool family: intel, amd, arm, nvidia, xilinx')
    .option('-t, --instance-type <type>', 'route to the pool serving this EC2 instance type')
    .option('--global-options <options>', 'ffmpeg global options')
    .option('-i, --input <url>', 'input URL (repeatable)', collect, [])
    .option(
      '--input-options <options>',
      'options of the input at the same position (repeatable)',
      collect,
      [],
    )
    .option('-o, --output <url>', 'output URL, or folder ending in / (repeatable)', collect, [])
    .option(
      '--output-options <options>',
      'options of the output at the same position (repeatable)',
      collect,
      [],
    )
    .option('-p, --priority <n>', '1 (most urgent) to 1000')
    .option(
      '--split <seconds>',
      'encode in chunks of about this many seconds on many workers at once (docs/pipelines.md)',
      parseSeconds,
    )
    .option(
      '--previews [json]',
      'make previews into the output folder: poster, sprite sheets with a WebVTT track, GIF/WebP per snippet; optional JSON settings (docs/pipelines.md)',
    )
    .option(
      '--ladder [json]',
      'encode an ABR ladder packaged for HLS and DASH into the output folder, rungs of a long source in chunks; optional JSON settings (docs/pipelines.md)',
    )
    .option(
      '--target <metric:min[-max]>',
      'encode at the highest CRF whose vmaf, ssim or psnr meets min, instead of a fixed -crf (docs/pipelines.md)',
      parseTarget,
    )
    .option('--upload-to <folder>', `where local input files are uploaded (${uploadHelp})`)
    .option('-w, --watch', 'follow the job with a progress bar until it finishes')
    .option(
      '--download <dir>',
      'when the job succeeds, download its outputs into this folder (implies --watch)',
    )
    .action(async (file: string | undefined, flags: SubmitFlags) => {
      const gateway = client();
      const input = await inputUrls(gateway, flags.input, flags.uploadTo ?? defaultUploadTo);
      const spec = await jobFromFlags({ ...flags, input, file });
      const accepted = await gateway.request<{ id: string; pool: string }>('POST', '/v1/jobs', spec);
      process.stdout.write(`${accepted.id}\n`);
      if (flags.watch || flags.download) {
        const job = await watchJob(gateway, accepted.id);
        if (job.state !== 'succeeded') process.exitCode = 1;
        else if (flags.download) {
          const urls = (job.outputs ?? []).flatMap((o) => (o.files ? o.files.map((f) => f.url) : [o.url]));
          for (const path of await downloadAll(urls, flags.download, config.records.s3))
            process.stdout.write(`downloaded ${path}\n`);
        }
      }
    });

  program
    .command('batch')
    .description('run one job template over many inputs (URLs, local files, or an S3 folder), one job each')
    .argument('[inputs...]', 'input URLs or local files (e.g. ./clips/*.mov)')
    .option('-f, --file <template>', 'batch template JSON (the POST /v1/batches body)')
    .option('-n, --name <name>', 'batch name')
    .option('-c, --compute <family>', 'pool family: intel, amd, arm, nvidia, xilinx')
    .option('-t, --instance-type <type>', 'route to the pool serving this EC2 instance type')
    .option('--global-options <options>', 'ffmpeg global options')
    .option('--input-options <options>', 'options of every input')
    .option(
      '-o, --output <pattern>',
      'output URL pattern with {stem} {name} {ext} {index} {path} (repeatable)',
      collect,
      [],
    )
    .option(
      '--output-options <options>',
      'options of the output at the same position (repeatable)',
      collect,
      [],
    )
    .option('--from <folder>', 'inputs: the objects under this s3:// folder, listed by the gateway')
    .option('--suffix <suffix>', 'with --from: only keys ending in this, e.g. .mov')
    .option('--max <n>', 'with --from: refuse the batch when the folder holds more')
    .option('-p, --priority <n>', '1 (most urgent) to 1000')
    .option('--upload-to <folder>', `where local input files are uploaded (${uploadHelp})`)
    .option('--no-watch', 'print the batch id and return at once')
    .option(
      '--download <dir>',
      'when the batch ends, download the manifest and every output into this folder',
    )
    .action(
      async (
        inputs: string[],
        flags: BatchFlags & { uploadTo?: string; watch: boolean; download?: string },
      ) => {
        const gateway = client();
        const urls = await inputUrls(gateway, inputs, flags.uploadTo ?? defaultUploadTo);
        const body = await batchFromFlags(flags, urls);
        const accepted = await gateway.request<{ id: string; items: number }>('POST', '/v1/batches', body);
        process.stdout.write(`${accepted.id}\n`);
        if (!flags.watch && !flags.download) return;
        const batch = await watchBatch(gateway, accepted.id);
        await printBatch(gateway, batch);
        if (batch.state !== 'succeeded' || batch.counts.failed > 0) process.exitCode = 1;
        if (flags.download && batch.manifest) {
          const s3 = config.records.s3;
          const [json, csv] = await downloadAll(
            [batch.manifest.json, batch.manifest.csv],
            flags.download,
            s3,
          );
          const outputs = await downloadAll(await manifestOutputs(json!), flags.download, s3);
          for (const path of [json!, csv!, ...outputs]) process.stdout.write(`downloaded ${path}\n`);
        }
      },
    );

  program
    .command('get')
    .description('show a job')
    .argument('<id>')
    .option('--json', 'print the raw JSON')
    .option('-w, --watch', 'follow the job until it finishes')
    .action(async (id: string, flags: { json?: boolean; watch?: boolean }) => {
      if (flags.watch) {
        const job = await watchJob(client(), id);
        if (job.state !== 'succeeded') process.exitCode = 1;
        return;
      }
      const job = await client().request<JobView>('GET', `/v1/jobs/${id}`);
      if (flags.json) process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
      else printJob(job);
    });

  program
    .command('list')
    .description('list jobs, newest first')
    .addOption(new Option('-s, --state <state>').choices(JOB_STATES))
    .option('-p, --pool <pool>')
    .option('-n, --name <name>')
    .option('-l, --limit <n>', 'how many', '20')
    .action(async (flags: { state?: string; pool?: string; name?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: flags.limit });
      if (flags.state) query.set('state', flags.state);
      if (flags.pool) query.set('pool', flags.pool);
      if (flags.name) query.set('name', flags.name);
      const { jobs } = await client().request<{ jobs: JobView[] }>('GET', `/v1/jobs?${query}`);
      for (const job of jobs) {
        const percent = job.state === 'running' ? ` ${Math.floor(job.progress?.percent ?? 0)}%` : '';
        process.stdout.write(
          `${job.id}  ${job.state.padEnd(9)}${percent}  ${job.pool.padEnd(7)} ${job.name}  ${job.createdAt}\n`,
        );
      }
    });

  program
    .command('play')
    .description('watch a finished ladder job: a page on 127.0.0.1 plays it from S3 with hls.js or dash.js')
    .argument('<id>')
    .option('--port <n>', "the page's port (default: a free one)", parsePort)
    .action(async (id: string, flags: { port?: number }) => {
      const { server, urls } = await playJob(client(), config.records.s3, id, flags.port);
      for (const url of urls) process.stdout.write(`${url}\n`);
      process.stdout.write('Ctrl-C stops the page.\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await server.close();
    });

  program
    .command('cancel')
    .description('cancel a job: queued jobs are removed, running ffmpeg is killed')
    .argument('<id>')
    .action(async (id: string) => {
      const job = await client().request<JobView>('DELETE', `/v1/jobs/${id}`);
      process.stdout.write(`${job.id} ${job.state}\n`);
    });

  program
    .command('pools')
    .description('pools with queue depth, workers online and capabilities')
    .action(async () => {
      const { pools } = await client().request<{
        pools: {
          name: string;
          family: string;
          accelerator: string;
          depth: Record<string, number>;
          queued: number;
          maxQueued: number | null;
          workers: { busy: number; concurrency: number }[];
          capabilities: { hwaccels: string[] };
        }[];
      }>('GET', '/v1/pools');
      for (const p of pools) {
        const busy = p.workers.reduce((s, w) => s + w.busy, 0);
        const slots = p.workers.reduce((s, w) => s + w.concurrency, 0);
        process.stdout.write(
          `${p.name.padEnd(8)} ${p.accelerator.padEnd(7)} waiting=${p.depth.waiting! + p.depth.prioritized!} active=${p.depth.active} ` +
            `queued=${p.queued}/${p.maxQueued ?? 'no cap'} ` +
            `workers=${p.workers.length} busy=${busy}/${slots} hwaccels=${p.capabilities.hwaccels.join(',') || '-'}\n`,
        );
      }
    });

  program
    .command('scale')
    .description(
      "set a pool's worker count on a cluster (kubectl scale of its Deployment; KEDA may override it)",
    )
    .argument('<pool>', 'pool name, e.g. nvidia')
    .argument('<replicas>', 'number of workers (0 stops the pool)')
    .option('-n, --namespace <namespace>', 'namespace of the release', 'ffleet')
    .option('-r, --release <release>', 'Helm release name', 'ffleet')
    .action(async (pool: string, replicas: string, flags: { namespace: string; release: string }) => {
      process.stdout.write(`${await scalePool(pool, replicas, { ...flags, kubectl: config.kubectl })}\n`);
    });

  program
    .command('report')
    .description(
      'per pool, instance type and job name: jobs, stage times (median, p95), speed, PSNR/SSIM/VMAF and Spot cost per output minute, from the records workers write to S3',
    )
    .option(
      '-b, --bucket <bucket>',
      'bucket holding metrics/ (default: $FFLEET_METRICS_BUCKET, $FFLEET_BUCKET, or the local fleet of .ffleet/dev.env)',
    )
    .option(
      '--since <day>',
      'jobs finished on or after this UTC day: YYYY-MM-DD or Nd (N days ago)',
      parseDay,
    )
    .option('--until <day>', 'jobs finished on or before this UTC day: YYYY-MM-DD or Nd', parseDay)
    .option('-p, --pool <pool>', 'only this pool (repeatable)', (value: string, previous?: string[]) => [
      ...(previous ?? []),
      value,
    ])
    .option(
      '--by <dimension>',
      `breakdown (repeatable): ${DIMENSIONS.join(', ')}; default all`,
      parseDimension,
    )
    .option('--prices <file>', 'Spot prices per instance-hour (YAML or JSON) replacing the built-in examples')
    .option('--csv <file>', 'also write the tables as CSV')
    .option('--html <file>', 'also write a self-contained HTML page with bar charts')
    .action(async (flags: ReportFlags) => {
      const source = flags.bucket ? { bucket: flags.bucket, s3: config.s3 } : config.records;
      if (!source.bucket) throw new Error('no metrics bucket: pass --bucket or set FFLEET_METRICS_BUCKET');
      await runReport({
        bucket: source.bucket,
        s3: source.s3,
        since: flags.since,
        until: flags.until,
        pools: flags.pool,
        by: flags.by,
        pricesFile: flags.prices,
        csvFile: flags.csv,
        htmlFile: flags.html,
      });
    });

  return program;
}

export { formatBytes };
