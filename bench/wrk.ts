import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Requests per second wrk sustains POSTing `body` with `connections` in flight for `seconds`;
 * every answer must be 2xx. wrk is C, so the rate is the server's, not a JavaScript client's.
 */
export async function wrkPostRate(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  dir: string,
): Promise<number> {
  const script = join(dir, 'post.lua');
  await writeFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  // A generous timeout: on a busy machine a slow answer is slow, not failed.
  const { stdout } = await exec('wrk', [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '30s',
    '-s',
    script,
    url,
  ]);
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw failed requests:\n${stdout}`);
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`could not read wrk's rate:\n${stdout}`);
  return rate;
}
