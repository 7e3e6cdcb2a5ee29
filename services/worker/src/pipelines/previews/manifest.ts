import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  childUrl,
  FfleetError,
  formatStorageUrl,
  PREVIEWS_MANIFEST,
  type PreviewsPlan,
  parseStorageUrl,
  previewsFiles,
  previewsManifest,
  SPRITES_VTT,
  spritesVtt,
} from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';
import { stage } from '../../pipeline/stage.ts';
import type { Flow } from '../flow.ts';
import { uploadFiles } from './upload-files.ts';

/**
 * The manifest step, once every sheet and snippet is made: the WebVTT track written from the
 * plan, then the manifest listing every file with its size and times, uploaded last so a folder
 * without a manifest is never taken for a finished one.
 */
export async function writePreviewsManifest(ctx: JobContext, plan: PreviewsPlan, flow: Flow): Promise<void> {
  const folder = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  const urlOf = (file: string) => formatStorageUrl(childUrl(folder, file));
  const bytes = new Map<string, number>();
  for (const picture of plan.pictures)
    if (picture.bytes !== undefined) bytes.set(picture.file, picture.bytes);
  const made = new Map<string, number>();
  for (const result of (await flow.childResults()).values())
    for (const output of result.outputs) made.set(output.url, output.bytes);
  for (const file of previewsFiles(plan)) {
    const size = made.get(urlOf(file));
    if (size !== undefined) bytes.set(file, size);
  }

  // Every child reported its files: a missing one would be a manifest that lies.
  const missing = previewsFiles(plan).filter((file) => file !== SPRITES_VTT && !bytes.has(file));
  if (missing.length > 0)
    throw new FfleetError(
      'previews_incomplete',
      `previews were not all made: ${missing.slice(0, 5).join(', ')}`,
      500,
    );

  const out = ctx.layout.outputDir(0);
  await mkdir(out, { recursive: true });
  await stage(
    ctx,
    'upload',
    async () => {
      if (plan.sprite) {
        await writeFile(join(out, SPRITES_VTT), spritesVtt(plan));
        bytes.set(SPRITES_VTT, (await uploadFiles(ctx, [SPRITES_VTT], out)).get(SPRITES_VTT)!);
      }
      const manifest = previewsManifest(plan, (file) => bytes.get(file));
      await writeFile(join(out, PREVIEWS_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      bytes.set(
        PREVIEWS_MANIFEST,
        (await uploadFiles(ctx, [PREVIEWS_MANIFEST], out)).get(PREVIEWS_MANIFEST)!,
      );
    },
    { percent: 100 },
  );

  const files = [...previewsFiles(plan), PREVIEWS_MANIFEST].map((file) => ({
    url: urlOf(file),
    bytes: bytes.get(file)!,
  }));
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  ctx.facts.outputs.push({ url: formatStorageUrl(folder), bytes: total, files });
  ctx.facts.outputBytes = total;
  ctx.facts.mediaDurationSeconds = plan.durationSeconds;
}
