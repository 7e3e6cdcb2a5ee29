import type { JobView } from '@ffleet/cli';

/**
 * A job's view when it ends, from its Server-Sent Events, as a client would follow it: no
 * polling load on the machine while ffmpeg runs. The stream ends when the job finishes.
 */
export async function followToTheEnd(gatewayUrl: string, id: string): Promise<JobView> {
  const stream = await (await fetch(`${gatewayUrl}/v1/jobs/${id}/events`)).text();
  const last = stream
    .split('\n\n')
    .filter((block) => block.startsWith('event: job'))
    .at(-1);
  if (!last) throw new Error(`no event for job ${id}`);
  return JSON.parse(last.split('\ndata: ')[1]!) as JobView;
}
