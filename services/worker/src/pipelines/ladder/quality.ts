import { join } from 'node:path';
import { inSpan, type LadderPlan, type QualitySummary, SPAN, SPAN_NAMES } from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputsToMeasure } from '../../pipeline/stages/download.ts';
import { jobQualityDecision, measureAgainstInput, qualityAttributes } from '../../pipeline/stages/quality.ts';

/**
 * Each rung as it was packaged (whole, its chunks joined) measured against the source, when the
 * job or the fleet default asks for quality: after the upload, one rung after another, as a
 * single job is measured after its own. The source is downloaded again for it, as a chunked
 * encode's join does. Never fails the job (its outputs are published by now): a rung that
 * cannot be measured, or a source that cannot be read again, says why.
 */
export async function measureRungs(
  ctx: JobContext,
  plan: LadderPlan,
  rungFiles: readonly string[],
): Promise<void> {
  const decision = jobQualityDecision(ctx, 'rungs');
  if (!decision.measure) return;
  const everyRung = (summary: QualitySummary) => plan.rungs.kept.map((rung) => ({ rung, summary }));
  if (decision.notApplicable) {
    ctx.facts.rungQuality = everyRung({ status: 'not_applicable', reason: decision.notApplicable });
    return;
  }
  const unread = await downloadInputsToMeasure(ctx);
  if (unread) {
    const reason = `the source could not be read again to measure the rungs: ${unread}`;
    ctx.facts.rungQuality = everyRung({ status: 'failed', reason });
    return;
  }
  ctx.facts.rungQuality = await stage(
    ctx,
    'quality',
    async () => {
      const measured = [];
      for (const [i, rung] of plan.rungs.kept.entries()) {
        const outcome = await inSpan(
          ctx.tracer,
          SPAN_NAMES.quality,
          { attributes: { [SPAN.rung]: rung.name } },
          async (span) => {
            const outcome = await measureAgainstInput(
              ctx,
              decision,
              rungFiles[i]!,
              join(ctx.workDir, 'quality', rung.name),
            );
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
