import { join } from 'node:path';
import {
  checkInputFiles,
  DEFAULT_TIMEOUT_SECONDS,
  inputPath,
  inSpan,
  type LadderPlan,
  parseStorageUrl,
  SPAN,
  SPAN_NAMES,
} from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';
import { stage } from '../../pipeline/stage.ts';
import { jobQualityDecision, measureJobQuality, qualityAttributes } from '../../pipeline/stages/quality.ts';

/**
 * Each rung as it was packaged (whole, its chunks joined) measured against the source, when the
 * job or the fleet default asks for quality: after the upload, one rung after another, as a
 * single job is measured after its own. The source is downloaded again for it, inside the
 * quality stage, whose time it is. Never fails the job (its outputs are published by now): a
 * rung that cannot be measured, or a source that cannot be read again, says why.
 */
export async function measureRungs(
  ctx: JobContext,
  plan: LadderPlan,
  rungFiles: readonly string[],
): Promise<void> {
  const decision = jobQualityDecision(ctx, 'rungs');
  if (!decision.measure) return;
  const { notApplicable } = decision;
  if (notApplicable) {
    ctx.facts.rungQuality = plan.rungs.kept.map((rung) => ({
      rung,
      summary: { status: 'not_applicable', reason: notApplicable },
    }));
    return;
  }
  ctx.facts.rungQuality = await stage(
    ctx,
    'quality',
    async () => {
      const reference = inputPath(ctx.plan, ctx.layout, 0);
      try {
        ctx.facts.inputBytes += await ctx.deps.storage.download(
          parseStorageUrl(ctx.spec.inputs[0]!.url, ctx.deps.config.urlPolicy),
          reference,
          ctx.signal,
        );
        // As at the plan step: a source replaced by a playlist since then is refused, not opened.
        await checkInputFiles(ctx.plan, ctx.layout);
      } catch (error) {
        // The ladder is published: without its source, no rung is measured, and that is all.
        const reason = `the source could not be read again to measure the rungs: ${(error as Error).message}`;
        ctx.log.warn({ err: error }, 'rung quality not measured');
        return plan.rungs.kept.map((rung) => ({ rung, summary: { status: 'failed' as const, reason } }));
      }
      const measured = [];
      for (const [i, rung] of plan.rungs.kept.entries()) {
        const outcome = await inSpan(
          ctx.tracer,
          SPAN_NAMES.quality,
          { attributes: { [SPAN.rung]: rung.name } },
          async (span) => {
            const outcome = await measureJobQuality({
              reference,
              distorted: rungFiles[i]!,
              workDir: join(ctx.workDir, 'quality', rung.name),
              ffmpegPath: ctx.deps.ffmpegPath,
              ffprobePath: ctx.deps.ffprobePath,
              ...(ctx.deps.ffmpegLimits ? { limits: ctx.deps.ffmpegLimits } : {}),
              mode: decision.mode,
              subsample: decision.subsample,
              timeoutMs: (ctx.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
              signal: ctx.signal,
            });
            span.setAttributes(qualityAttributes(outcome));
            return outcome;
          },
        );
        if (outcome.summary.status !== 'measured')
          ctx.log.warn({ rung: rung.name, quality: outcome.summary }, 'rung quality not measured');
        measured.push({ rung, ...outcome });
      }
      return measured;
    },
    { percent: 100 },
  );
}
