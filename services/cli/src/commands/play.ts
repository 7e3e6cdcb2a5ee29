import { createS3Client, FfleetError, type JobView, parseStorageUrl, type S3Settings } from '@ffleet/core';
import type { GatewayClient } from '../client.ts';
import { type PlayServer, startPlayServer } from '../play/server.ts';

/**
 * Serves a finished ladder job's output on a loopback page with hls.js and dash.js. Returns the
 * server and the page's addresses (one per packaging the job has).
 */
export async function playJob(
  client: GatewayClient,
  s3: S3Settings,
  id: string,
  port?: number,
): Promise<{ server: PlayServer; urls: string[] }> {
  const job = await client.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  const ladder = job.spec.ladder;
  if (!ladder) throw new FfleetError('not_a_ladder', `job ${id} is not a ladder: nothing to play`, 400);
  if (job.state !== 'succeeded')
    throw new FfleetError('not_finished', `job ${id} is ${job.state}; a ladder plays once it succeeded`, 409);
  const folder = parseStorageUrl(job.spec.outputs[0]!.url);
  if (folder.scheme !== 's3') throw new FfleetError('not_s3', 'ffleet play reads ladders from S3 only', 400);
  const server = await startPlayServer({
    s3: createS3Client(s3),
    bucket: folder.bucket,
    prefix: folder.key,
    ...(port ? { port } : {}),
  });
  const urls = [];
  if (ladder.hls !== false) urls.push(`${server.url}?player=hls`);
  if (ladder.dash !== false) urls.push(`${server.url}?player=dash`, `${server.url}?player=shaka`);
  return { server, urls };
}
