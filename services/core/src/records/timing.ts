import { type Static, Type } from '@sinclair/typebox';
import { compileCheck, type SchemaProblem } from '../schemas/check.ts';

const Ms = Type.Number({ minimum: 0 });

/** Stage durations and placement of one job attempt (`metrics/timings/…`), written by the worker. */
export const TimingRecordSchema = Type.Object({
  version: Type.Literal(1),
  job_id: Type.String(),
  job_name: Type.Optional(Type.String()),
  pool: Type.String(),
  instance_type: Type.Optional(Type.String()),
  capacity_type: Type.Optional(Type.String()),
  zone: Type.Optional(Type.String()),
  node: Type.Optional(Type.String()),
  worker: Type.Optional(Type.String()),
  attempt: Type.Integer({ minimum: 1 }),
  state: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  submitted_at: Type.Optional(Type.String()),
  finished_at: Type.String(),
  /** Milliseconds per stage; `queue` is submission to start, `total` start to finish. */
  stages_ms: Type.Object({
    queue: Type.Optional(Ms),
    download: Ms,
    ffmpeg: Ms,
    upload: Ms,
    quality: Type.Optional(Ms),
    total: Ms,
  }),
  input_bytes: Type.Integer({ minimum: 0 }),
  output_bytes: Type.Integer({ minimum: 0 }),
  /** Duration of the media ffmpeg wrote, in seconds. */
  media_duration_seconds: Type.Optional(Type.Number()),
  /** ffmpeg speed, a multiple of real time. */
  speed: Type.Optional(Type.Number()),
  /** Copy of the quality record's averages, so a report needs only this record. */
  quality: Type.Optional(
    Type.Object({
      psnr: Type.Optional(Type.Number()),
      ssim: Type.Optional(Type.Number()),
      vmaf: Type.Optional(Type.Number()),
      vmaf_unavailable: Type.Optional(Type.String()),
    }),
  ),
});
export type TimingRecord = Static<typeof TimingRecordSchema>;

const check = compileCheck(TimingRecordSchema);
/** Whether JSON read back from storage is a timing record. */
export const isTimingRecord = (value: unknown): value is TimingRecord => check.is(value);
/** Why a value is not a timing record. */
export const timingRecordProblems = (value: unknown): SchemaProblem[] => check.problems(value, 3);
