import { InvalidJobError } from '../errors.ts';
import { type CommandPlan, planCommand } from '../ffmpeg/command.ts';
import { checkLadderCommand, checkLadderJob, ladderCommandSpec } from '../pipelines/ladder-spec.ts';
import { checkPreviewsCommand, checkPreviewsJob, previewsCommandSpec } from '../pipelines/previews-spec.ts';
import { splitOptions } from '../pipelines/split-rules.ts';
import { checkTargetQuality } from '../pipelines/target-quality.ts';
import type { Pool, PoolRegistry } from '../pools/registry.ts';
import { compileCheck } from '../schemas/check.ts';
import type { UrlPolicy } from '../storage/url.ts';
import { checkWebhookUrl } from '../webhooks/webhook.ts';
import { type JobSpec, JobSpecSchema } from './spec.ts';

const specCheck = compileCheck(JobSpecSchema);

export interface ValidatedJob {
  spec: JobSpec;
  pool: Pool;
  plan: CommandPlan;
}

/**
 * Everything a job must pass before it is queued, and again before a worker runs it:
 * the schema, the pool routing, and the command model. Throws a 400-class FfleetError.
 */
export function validateJob(body: unknown, pools: PoolRegistry, policy: UrlPolicy): ValidatedJob {
  if (!specCheck.is(body)) {
    const errors = specCheck.problems(body);
    throw new InvalidJobError(`job spec is invalid: ${errors[0]?.path} ${errors[0]?.message}`, { errors });
  }
  const spec = body;
  const pool = pools.route(spec.compute, spec.instanceType);
  if ((spec.ladder || spec.previews) && spec.targetQuality)
    throw new InvalidJobError(
      `targetQuality and ${spec.ladder ? 'ladder' : 'previews'} do not go together: ${spec.ladder ? "a ladder sets each rung's rate" : 'previews are pictures, not an encode to tune'}`,
    );
  if (spec.previews) checkPreviewsJob(spec, pool);
  else if (spec.ladder) checkLadderJob(spec, pool);
  // Ladders and previews write their own commands: the parent plans the input and the folder like any job.
  const commandSpec = spec.previews
    ? previewsCommandSpec(spec)
    : spec.ladder
      ? ladderCommandSpec(spec)
      : spec;
  const plan = planCommand(commandSpec, policy);
  if (spec.split) splitOptions(plan);
  if (spec.previews) checkPreviewsCommand(plan);
  if (spec.ladder) checkLadderCommand(plan);
  if (spec.targetQuality) checkTargetQuality(spec.targetQuality, plan);
  if (spec.webhook) checkWebhookUrl(spec.webhook.url, policy.webhooks);
  return { spec, pool, plan };
}
