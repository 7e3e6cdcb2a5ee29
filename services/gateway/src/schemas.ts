import { Type } from '@sinclair/typebox';

/** Route parameters shared by the job routes; shared formats (the job view, errors) are in core. */
export const JobIdParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: "The job's id, from its submission" }),
});
