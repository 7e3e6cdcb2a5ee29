import { type Static, Type } from '@sinclair/typebox';
import { TargetQualityResultSchema } from '../pipelines/target-quality.ts';
import { compileCheck, type SchemaProblem } from '../schemas/check.ts';

/** One frame's scores, named as ffmpeg-quality-metrics names them; `n` counts frames from 1. */
export const FrameScoresSchema = Type.Record(Type.String(), Type.Number());

/** Summary of one per-frame series, named as in ffmpeg-quality-metrics' `global` block. */
export const SeriesStatsSchema = Type.Object({
  average: Type.Number(),
  median: Type.Number(),
  /** Population standard deviation. */
  stdev: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
});
export type SeriesStats = Static<typeof SeriesStatsSchema>;

const MetricStats = Type.Record(Type.String(), SeriesStatsSchema);

export const VmafStatusSchema = Type.Union([
  Type.Object({ available: Type.Literal(true), model: Type.String() }),
  Type.Object({ available: Type.Literal(false), reason: Type.String() }),
]);
export type VmafStatus = Static<typeof VmafStatusSchema>;

/**
 * The quality record a worker writes for a job (`metrics/ffqm/…`). Field names follow
 * ffmpeg-quality-metrics as the AWS "batch with ffmpeg" sample stores it (`psnr`/`ssim`/`vmaf`
 * per-frame arrays, `global`, `input_file_*`, `AWS_BATCH_*`), so that sample's Glue crawler and
 * Athena views read it unchanged; ffleet's own fields are under `ffleet`.
 */
export const QualityRecordSchema = Type.Object({
  /** Per frame: n, mse_avg, mse_y, mse_u, mse_v, psnr_avg, psnr_y, psnr_u, psnr_v (PSNR capped, see psnr_ceiling_db). */
  psnr: Type.Array(FrameScoresSchema),
  /** Per frame: n, ssim_y, ssim_u, ssim_v, ssim_avg. */
  ssim: Type.Array(FrameScoresSchema),
  /** Per frame: n, vmaf and libvmaf's feature scores; absent when VMAF was not computed. */
  vmaf: Type.Optional(Type.Array(FrameScoresSchema)),
  global: Type.Object({
    psnr: MetricStats,
    ssim: MetricStats,
    vmaf: Type.Optional(MetricStats),
  }),
  input_file_dist: Type.String(),
  input_file_ref: Type.String(),
  /** The AWS sample's job id, queue and compute environment: here job id, pool and instance type. */
  AWS_BATCH_JOB_ID: Type.String(),
  AWS_BATCH_JQ_NAME: Type.String(),
  AWS_BATCH_CE_NAME: Type.String(),
  ffleet: Type.Object({
    version: Type.Literal(1),
    job_id: Type.String(),
    job_name: Type.Optional(Type.String()),
    pool: Type.String(),
    instance_type: Type.Optional(Type.String()),
    created_at: Type.String(),
    frames: Type.Integer({ minimum: 0 }),
    /** Identical frames have infinite PSNR; it is recorded as this many dB. */
    psnr_ceiling_db: Type.Number(),
    vmaf: VmafStatusSchema,
    /** The output was scaled to the reference's size before comparing. */
    scaled: Type.Optional(Type.Object({ from: Type.String(), to: Type.String() })),
    /** The reference was interlaced and the output not: the reference was deinterlaced before comparing. */
    reference_deinterlaced: Type.Optional(Type.Literal(true)),
    /** The reference was HDR (`pq` or `hlg`) and the output not: the reference was tone-mapped to SDR before comparing. */
    reference_tone_mapped: Type.Optional(Type.Union([Type.Literal('pq'), Type.Literal('hlg')])),
    /**
     * `full`: every frame was compared; `sampled`: every frame of the `windows`, or every
     * `subsample`-th output frame of a video too short for windows.
     */
    mode: Type.Optional(Type.Union([Type.Literal('sampled'), Type.Literal('full')])),
    /** Every how many output frames one was compared: 1 in full mode and inside windows. */
    subsample: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The windows compared, in order: the output's frames first_frame to first_frame + frames - 1. */
    windows: Type.Optional(
      Type.Array(
        Type.Object({ first_frame: Type.Integer({ minimum: 0 }), frames: Type.Integer({ minimum: 1 }) }),
      ),
    ),
    /** ffmpeg's own closing summary lines (null where it printed -inf). */
    ffmpeg_summary: Type.Object({
      psnr: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]))),
      ssim: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]))),
    }),
    elapsed_ms: Type.Number({ minimum: 0 }),
    /** A job with a quality target: how its CRF was chosen (the probes, the score, the size saved). */
    target_quality: Type.Optional(TargetQualityResultSchema),
    /** A ladder's rung: which one this record measured (a ladder writes one record per rung). */
    rung: Type.Optional(
      Type.Object({
        name: Type.String(),
        width: Type.Integer({ minimum: 1 }),
        height: Type.Integer({ minimum: 1 }),
        bitrate_kbps: Type.Integer({ minimum: 1 }),
      }),
    ),
  }),
});
export type QualityRecord = Static<typeof QualityRecordSchema>;

const check = compileCheck(QualityRecordSchema);
/** Whether JSON read back from storage is a quality record. */
export const isQualityRecord = (value: unknown): value is QualityRecord => check.is(value);
/** Why a value is not a quality record. */
export const qualityRecordProblems = (value: unknown): SchemaProblem[] => check.problems(value, 3);
