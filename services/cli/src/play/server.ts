/**
 * `ffleet play`: a small loopback web server that plays a ladder's output in the browser with
 * hls.js, dash.js or Shaka Player. The players come from this package's node_modules (pinned,
 * no CDN); the playlists and segments are read from the output folder in S3 and passed through.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { pipeline, type Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { contentTypeOf } from '@ffleet/core';
import { PLAYER_PAGE, PLAYER_SCRIPT } from './page.ts';

const require = createRequire(import.meta.url);
const LIBRARIES: Record<string, string> = {
  '/lib/hls.min.js': require.resolve('hls.js/dist/hls.min.js'),
  // dash.js's UMD build: its package's `require` entry.
  '/lib/dash.all.min.js': require.resolve('dashjs'),
  '/lib/shaka-player.compiled.js': require.resolve('shaka-player'),
};

/** A path under the output folder: plain names only, nothing that climbs out of it. */
const MEDIA_PATH = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export interface PlayServer {
  url: string;
  close(): Promise<void>;
}

export async function startPlayServer(options: {
  s3: S3Client;
  bucket: string;
  /** The output folder's key prefix, ending in `/` (or empty). */
  prefix: string;
  port?: number;
}): Promise<PlayServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    void (async () => {
      if (request.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
      if (path === '/') return send(200, 'text/html; charset=utf-8', PLAYER_PAGE);
      if (path === '/player.js') return send(200, 'text/javascript', PLAYER_SCRIPT);
      const library = LIBRARIES[path];
      if (library) return send(200, 'text/javascript', await readFile(library));
      if (!path.startsWith('/media/')) return send(404, 'text/plain', 'not found\n');
      const relative = decodeURIComponent(path.slice('/media/'.length));
      if (!MEDIA_PATH.test(relative) || relative.split('/').includes('..'))
        return send(400, 'text/plain', 'bad path\n');
      try {
        const object = await options.s3.send(
          new GetObjectCommand({ Bucket: options.bucket, Key: options.prefix + relative }),
        );
        response.writeHead(200, {
          'content-type': contentTypeOf(relative) ?? 'application/octet-stream',
          'cache-control': 'no-store',
          ...(object.ContentLength !== undefined ? { 'content-length': object.ContentLength } : {}),
        });
        // pipeline, not pipe: a viewer who leaves mid-segment destroys the S3 body too, and a
        // storage connection that drops mid-body ends this response instead of throwing.
        pipeline(object.Body as Readable, response, () => {});
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        send(status === 404 ? 404 : 502, 'text/plain', status === 404 ? 'not found\n' : 'storage error\n');
      }
    })().catch(() => {
      if (!response.headersSent) send(500, 'text/plain', 'error\n');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
