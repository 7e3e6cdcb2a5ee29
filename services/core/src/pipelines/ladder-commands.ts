/**
 * The steps of a ladder job. The parent plans (analyses the source, decides the rungs) and
 * queues one ordinary job per rung and one for the audio; each writes one file to scratch.
 * The parent then packages those files by stream copy into HLS (fMP4) and DASH, and publishes
 * the playlists and the MPD last.
 *
 *   rung     (a job) the source → one size and bitrate, keyframes forced every 2 s of the
 *            source's timeline (scene-cut keyframes off), closed GOPs, no audio
 *   audio    (a job) the source's first audio stream → AAC stereo, once for every rung
 *   package  (parent) each rung and the audio → HLS media playlists and segments, one DASH MPD
 */
import { type Static, Type } from '@sinclair/typebox';
import { MEDIA_DEMUXERS } from '../ffmpeg/option-table.ts';
import { quoteOptions } from '../ffmpeg/tokenize.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { type PlannedRung, RungDecisionSchema } from './ladder-rungs.ts';
import { LADDER_ENCODERS, LADDER_GOP_SECONDS, type LadderSettings } from './ladder-spec.ts';

/** What the plan step decided, kept in the parent job for the package step. */
export const LadderPlanSchema = Type.Object({
  rungs: RungDecisionSchema,
  frameRate: Type.Number(),
  durationSeconds: Type.Number(),
  audio: Type.Boolean(),
  /** Folder URL (ending in /) of the job's scratch objects. */
  scratch: Type.String(),
});
export type LadderPlan = Static<typeof LadderPlanSchema>;

export const ladderScratch = {
  rung: (plan: Pick<LadderPlan, 'scratch'>, rung: Pick<PlannedRung, 'name'>) =>
    `${plan.scratch}rungs/${rung.name}.mp4`,
  audio: (plan: Pick<LadderPlan, 'scratch'>) => `${plan.scratch}audio.m4a`,
  all(plan: LadderPlan): string[] {
    return [...plan.rungs.kept.map((r) => this.rung(plan, r)), ...(plan.audio ? [this.audio(plan)] : [])];
  },
};

/** Child ids: deterministic, never a colon. */
export const ladderChildId = {
  rung: (parentId: string, rung: Pick<PlannedRung, 'name'>) => `${parentId}-${rung.name}`,
  audio: (parentId: string) => `${parentId}-a`,
};

/** Frames between forced keyframes at the source's rate (an upper bound for the encoder's own GOP). */
function gopFrames(frameRate: number): number {
  return Math.max(1, Math.round(LADDER_GOP_SECONDS * frameRate));
}

/**
 * The job that encodes one rung: the first video stream scaled to the rung's size, at its
 * bitrate (peak held to 110 %), a keyframe at every multiple of 2 s and nowhere else.
 */
export function rungJobSpec(
  spec: JobSpec,
  settings: LadderSettings,
  plan: LadderPlan,
  rung: PlannedRung,
): JobSpec {
  const codec = LADDER_ENCODERS[settings.codec];
  const gop = gopFrames(plan.frameRate);
  const args = [
    ...['-map', '0:v:0', '-an', '-sn', '-dn'],
    ...['-vf', `scale=${rung.width}:${rung.height}`],
    ...['-c:v', codec.encoder, '-preset', settings.preset],
    ...['-b:v', `${rung.bitrateKbps}k`, '-maxrate', `${Math.round(rung.bitrateKbps * 1.1)}k`],
    ...['-bufsize', `${rung.bitrateKbps * 2}k`],
    ...['-g', String(gop), '-keyint_min', String(gop)],
    ...['-force_key_frames', `expr:gte(t,n_forced*${LADDER_GOP_SECONDS})`],
    ...codec.args,
    ...(settings.threads !== undefined ? ['-threads', String(settings.threads)] : []),
    ...['-movflags', '+faststart'],
  ];
  return childSpec(spec, `rung-${rung.name}`, ladderScratch.rung(plan, rung), args);
}

/** The job that encodes the audio once: the first audio stream, AAC stereo. */
export function ladderAudioJobSpec(spec: JobSpec, settings: LadderSettings, plan: LadderPlan): JobSpec {
  const args = [
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-c:a',
    'aac',
    '-b:a',
    `${settings.audioBitrateKbps}k`,
    '-ac',
    '2',
  ];
  return childSpec(spec, 'audio', ladderScratch.audio(plan), args);
}

function childSpec(spec: JobSpec, step: string, output: string, args: string[]): JobSpec {
  const input = spec.inputs[0]!;
  const child: JobSpec = {
    name: `${spec.name.slice(0, 100)}.${step}`.slice(0, 128),
    compute: spec.compute,
    inputs: [{ url: input.url, ...(input.options ? { options: input.options } : {}) }],
    outputs: [{ url: output, options: quoteOptions(args) }],
    quality: false,
  };
  if (spec.globalOptions) child.globalOptions = spec.globalOptions;
  if (spec.instanceType) child.instanceType = spec.instanceType;
  for (const key of ['priority', 'timeoutSeconds', 'attempts'] as const)
    if (spec[key] !== undefined) child[key] = spec[key];
  return child;
}

const PREAMBLE = ['-hide_banner', '-nostdin', '-y', '-nostats'];

/** A local input, media demuxers only. */
function input(path: string): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS.join(','), '-i', path];
}

/** One HLS rendition (fMP4 segments cut at the keyframes nearest each multiple of the target) by stream copy. */
export function hlsRenditionArgs(source: string, folder: string, segmentSeconds: number): string[] {
  return [
    ...PREAMBLE,
    ...input(source),
    ...['-map', '0', '-c', 'copy', '-f', 'hls', '-hls_time', String(segmentSeconds)],
    ...['-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4'],
    ...['-hls_flags', 'independent_segments', '-hls_segment_filename', `${folder}/seg-%05d.m4s`],
    `${folder}/index.m3u8`,
  ];
}

/** The DASH packaging: every rung (one video adaptation set) and the audio, by stream copy. */
export function dashArgs(
  rungs: readonly string[],
  audio: string | undefined,
  manifest: string,
  segmentSeconds: number,
): string[] {
  const argv = [...PREAMBLE];
  for (const file of [...rungs, ...(audio ? [audio] : [])]) argv.push(...input(file));
  rungs.forEach((_, i) => {
    argv.push('-map', `${i}:v:0`);
  });
  if (audio) argv.push('-map', `${rungs.length}:a:0`);
  argv.push(
    ...[
      '-c',
      'copy',
      '-f',
      'dash',
      '-seg_duration',
      String(segmentSeconds),
      '-use_template',
      '1',
      '-use_timeline',
      '1',
    ],
    ...['-adaptation_sets', audio ? 'id=0,streams=v id=1,streams=a' : 'id=0,streams=v'],
    ...['-init_seg_name', 'dash/init-$RepresentationID$.m4s'],
    ...['-media_seg_name', 'dash/seg-$RepresentationID$-$Number%05d$.m4s'],
    manifest,
  );
  return argv;
}
