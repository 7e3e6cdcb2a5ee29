import { type Static, Type } from '@sinclair/typebox';

/** Where a job is in its life, as the API, the CLI and webhooks name it. */
export const JobStateSchema = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ],
  { description: 'queued → running → succeeded | failed | cancelled' },
);
export type JobState = Static<typeof JobStateSchema>;

/** Every job state, in the order of a job's life. */
export const JOB_STATES: readonly JobState[] = JobStateSchema.anyOf.map((literal) => literal.const);

/** Whether a job in this state will not change any more. */
export function isFinishedState(state: string): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}
