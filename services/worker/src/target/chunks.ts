import {
  isJobResult,
  type Probe,
  splitChildId,
  type TargetPlan,
  type TargetQualityResult,
} from '@ffleet/core';

type ChunkSearch = NonNullable<TargetQualityResult['chunks']>[number];

/**
 * A chunked encode's target result from its chunks' own (each chunk searched its CRF): the
 * chunks in order, the mean CRF, met when every chunk met the target, and the size saved
 * summed over the chunks whose default-CRF probe and chosen probe are both known.
 */
export function chunkedTargetResult(
  target: TargetPlan,
  parentId: string,
  childResults: ReadonlyMap<string, unknown>,
): TargetQualityResult {
  const chunks: ChunkSearch[] = [];
  for (const [id, value] of childResults) {
    const index = splitChildId.indexOf(parentId, id);
    if (index === undefined || !isJobResult(value) || !value.targetQuality) continue;
    const { crf, met, fallback, probes, score, reused, savedPercent } = value.targetQuality;
    chunks.push({
      index,
      crf,
      met,
      probes,
      reused,
      ...(fallback !== undefined ? { fallback } : {}),
      ...(score !== undefined ? { score } : {}),
      ...(savedPercent !== undefined ? { savedPercent } : {}),
    });
  }
  chunks.sort((a, b) => a.index - b.index);
  const result: TargetQualityResult = {
    metric: target.metric,
    min: target.min,
    max: target.max,
    encoder: target.encoder,
    defaultCrf: target.range.default,
    crf: round2(chunks.reduce((sum, c) => sum + c.crf, 0) / Math.max(1, chunks.length)),
    met: chunks.length > 0 && chunks.every((c) => c.met),
    probes: [],
    reused: chunks.length > 0 && chunks.every((c) => c.reused),
    probedOn: 'whole',
    chunks,
  };
  const failing = chunks.filter((c) => !c.met).map((c) => c.index);
  if (failing.length > 0)
    result.fallback = `chunks ${failing.join(', ')} met no probe and were encoded at the fallback CRF ${target.fallbackCrf}`;
  const saved = savedBytes(target, chunks);
  if (saved) result.savedPercent = round2((100 * (saved.atDefault - saved.chosen)) / saved.atDefault);
  return result;
}

function savedBytes(
  target: TargetPlan,
  chunks: readonly ChunkSearch[],
): { atDefault: number; chosen: number } | undefined {
  let atDefault = 0;
  let chosen = 0;
  for (const chunk of chunks) {
    const at = (crf: number) => chunk.probes.find((p: Probe) => p.crf === crf);
    const base = at(target.range.default);
    const picked = at(chunk.crf);
    if (!base || !picked) return undefined;
    atDefault += base.bytes;
    chosen += picked.bytes;
  }
  return atDefault > 0 ? { atDefault, chosen } : undefined;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
