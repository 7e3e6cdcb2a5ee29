/**
 * Jobs that must stay accepted however the command model is hardened: the demo's jobs and
 * the AWS "Batch with FFmpeg" sample's documented uses (clip, add a silent audio track,
 * extract audio, change container, concatenate, thumbnails, timelapse), plus the packaging
 * and encoder options a platform team relies on. Each lists the media its inputs hold, so
 * it can be run with real ffmpeg (services/core/test/accepted-jobs.test.ts runs them on
 * lavfi-generated media; an end-to-end test can upload the same fixtures).
 */
import { batchExecuteToJobSpec } from '../../services/core/src/jobs/compat.ts';
import type { MediaFixture } from './fixtures.ts';

export interface OutputExpectation {
  /** Stream types of a file output (ffprobe codec_type), in order. */
  streams?: ('video' | 'audio')[];
  /** Duration of a file output, in seconds [min, max]. */
  duration?: [number, number];
  /** For folder outputs: files that must be written. */
  files?: (string | RegExp)[];
}

export interface AcceptedJob {
  id: string;
  title: string;
  body: Record<string, unknown>;
  /** What each input URL holds. */
  media: Record<string, MediaFixture>;
  /** Why this job cannot run on a CPU-only machine, if it cannot. */
  needs?: string;
  outputs: OutputExpectation[];
}

export function acceptedJobs({ bucket }: { bucket: string }): AcceptedJob[] {
  const b = bucket;
  const src = `s3://${b}/in/source.mp4`;
  const av16: MediaFixture = { kind: 'av', seconds: 16 };
  const job = (name: string, over: Record<string, unknown>) => ({ name, compute: 'intel', ...over });
  const one = (name: string, outUrl: string, options: string, input = src) =>
    job(name, { inputs: [{ url: input }], outputs: [{ url: outUrl, options }] });

  return [
    {
      id: 'demo-720p',
      title: 'demo: 720p H.264/AAC transcode',
      body: one(
        'demo-720p',
        `s3://${b}/out/720p.mp4`,
        '-c:v libx264 -preset veryfast -crf 23 -vf scale=-2:720 -c:a aac -b:a 128k -movflags +faststart',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'], duration: [15.5, 16.5] }],
    },
    {
      id: 'demo-hls',
      title: 'demo: HLS folder output',
      body: one(
        'demo-hls',
        `s3://${b}/out/hls/`,
        '-c:v libx264 -preset veryfast -g 20 -sc_threshold 0 -c:a aac -b:a 96k -f hls -hls_time 4 ' +
          '-hls_playlist_type vod -hls_segment_filename seg_%03d.ts',
      ),
      media: { [src]: av16 },
      outputs: [{ files: ['index.m3u8', 'seg_000.ts', 'seg_003.ts'] }],
    },
    {
      id: 'aws-clip',
      title: 'AWS sample: clip with -ss/-t and stream copy (its README example)',
      body: one('clip-video', `s3://${b}/out/clip.mp4`, '-ss 00:00:10 -t 00:00:15 -c:v copy -c:a copy'),
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'], duration: [5, 7] }],
    },
    {
      id: 'aws-clip-batch-execute',
      title: 'AWS sample: the same clip through the /batch/execute body',
      body: batchExecuteToJobSpec('intel', {
        name: 'clip-video',
        global_options: '-y',
        input_url: src,
        input_file_options: '-ss 2',
        output_url: `s3://${b}/out/clip-batch.mp4`,
        output_file_options: '-t 3 -c:v copy -c:a copy',
      }) as unknown as Record<string, unknown>,
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'], duration: [2.5, 4] }],
    },
    {
      id: 'aws-silent-audio',
      title: 'AWS sample: add a silent audio track (anullsrc as a source filter, not a lavfi input)',
      body: one(
        'add-silent-audio',
        `s3://${b}/out/with-audio.mp4`,
        '-filter_complex anullsrc=channel_layout=stereo:sample_rate=44100[a] -map 0:v -map [a] ' +
          '-c:v copy -c:a aac -shortest',
        `s3://${b}/in/video-only.mp4`,
      ),
      media: { [`s3://${b}/in/video-only.mp4`]: { kind: 'video', seconds: 6 } },
      outputs: [{ streams: ['video', 'audio'], duration: [5.5, 6.6] }],
    },
    {
      id: 'aws-extract-audio',
      title: 'AWS sample: extract the audio track',
      body: one('extract-audio', `s3://${b}/out/audio.mp3`, '-vn -c:a libmp3lame -q:a 4'),
      media: { [src]: av16 },
      outputs: [{ streams: ['audio'], duration: [15.5, 16.5] }],
    },
    {
      id: 'aws-extract-video',
      title: 'AWS sample: extract the video track',
      body: one('extract-video', `s3://${b}/out/video.mp4`, '-an -map 0:v:0 -c:v copy'),
      media: { [src]: av16 },
      outputs: [{ streams: ['video'] }],
    },
    {
      id: 'aws-change-container',
      title: 'AWS sample: change the container (MP4 to Matroska, no re-encode)',
      body: one('change-container', `s3://${b}/out/remux.mkv`, '-map 0 -c copy'),
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'], duration: [15.5, 16.5] }],
    },
    {
      id: 'aws-concat-filter',
      title: 'AWS sample: concatenate declared inputs with the concat filter',
      body: job('concat-videos', {
        inputs: [{ url: `s3://${b}/in/part1.mp4` }, { url: `s3://${b}/in/part2.mp4` }],
        outputs: [
          {
            url: `s3://${b}/out/joined.mp4`,
            options:
              '-filter_complex "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]" -map [v] -map [a] ' +
              '-c:v libx264 -preset veryfast -c:a aac',
          },
        ],
      }),
      media: {
        [`s3://${b}/in/part1.mp4`]: { kind: 'av', seconds: 3 },
        [`s3://${b}/in/part2.mp4`]: { kind: 'av', seconds: 4 },
      },
      outputs: [{ streams: ['video', 'audio'], duration: [6.5, 7.5] }],
    },
    {
      id: 'aws-concat-list',
      title: 'AWS sample: concatenate with a concat list naming only declared inputs',
      body: job('concat-list', {
        inputs: [
          { url: `s3://${b}/in/parts.txt`, options: '-f concat' },
          { url: `s3://${b}/in/part1.mp4` },
          { url: `s3://${b}/in/part2.mp4` },
        ],
        outputs: [{ url: `s3://${b}/out/joined-copy.mp4`, options: '-map 0 -c copy' }],
      }),
      media: {
        [`s3://${b}/in/parts.txt`]: { kind: 'concat-list', entries: ['part1.mp4', 'part2.mp4'] },
        [`s3://${b}/in/part1.mp4`]: { kind: 'av', seconds: 3 },
        [`s3://${b}/in/part2.mp4`]: { kind: 'av', seconds: 4 },
      },
      outputs: [{ streams: ['video', 'audio'], duration: [6.5, 7.5] }],
    },
    {
      id: 'aws-thumbnails',
      title: 'AWS sample: thumbnails every 4 seconds into a folder',
      body: one('thumbnails', `s3://${b}/out/thumbs/`, '-vf fps=1/4,scale=160:-1 -f image2 -q:v 3'),
      media: { [src]: av16 },
      outputs: [{ files: ['frame-00001.jpg', 'frame-00004.jpg'] }],
    },
    {
      id: 'aws-thumbnail-single',
      title: 'AWS sample: one thumbnail at 5 s',
      body: one('thumbnail', `s3://${b}/out/poster.jpg`, '-ss 00:00:05 -frames:v 1 -q:v 2 -update 1'),
      media: { [src]: av16 },
      outputs: [{ streams: ['video'] }],
    },
    {
      id: 'aws-timelapse',
      title: 'AWS sample: timelapse (4x faster, no audio)',
      body: one(
        'timelapse',
        `s3://${b}/out/timelapse.mp4`,
        '-vf setpts=0.25*PTS -r 30 -an -c:v libx264 -preset veryfast',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video'], duration: [3.5, 4.5] }],
    },
    {
      id: 'preview-gif',
      title: 'preview GIF with a generated palette',
      body: one(
        'preview-gif',
        `s3://${b}/out/preview.gif`,
        '-t 3 -vf "fps=5,scale=160:-1:flags=lanczos,split[s0][s1];[s0]palettegen[p];[s1][p]paletteuse" -loop 0',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video'] }],
    },
    {
      id: 'dash-folder',
      title: 'DASH folder with named segment templates',
      body: one(
        'dash',
        `s3://${b}/out/dash/`,
        '-t 8 -c:v libx264 -preset veryfast -g 20 -c:a aac -f dash -seg_duration 2 ' +
          '-init_seg_name init-$RepresentationID$.m4s -media_seg_name chunk-$RepresentationID$-$Number%05d$.m4s',
      ),
      media: { [src]: av16 },
      outputs: [{ files: ['manifest.mpd', 'init-0.m4s', 'chunk-0-00001.m4s', 'chunk-1-00001.m4s'] }],
    },
    {
      id: 'abr-hls-ladder',
      title: 'two-rung HLS ladder with a master playlist',
      body: job('abr-ladder', {
        inputs: [{ url: src }],
        outputs: [
          {
            url: `s3://${b}/out/abr/`,
            filename: 'stream_%v.m3u8',
            options:
              '-t 8 -filter_complex "[0:v]split=2[a][b];[a]scale=-2:240[v0];[b]scale=-2:120[v1]" ' +
              '-map [v0] -map [v1] -map 0:a -map 0:a -c:v libx264 -preset veryfast -g 20 -sc_threshold 0 ' +
              '-b:v:0 400k -b:v:1 150k -c:a aac -b:a 64k -f hls -hls_time 2 -hls_playlist_type vod ' +
              '-var_stream_map "v:0,a:0 v:1,a:1" -master_pl_name master.m3u8 -hls_segment_filename seg_%v_%03d.ts',
          },
        ],
      }),
      media: { [src]: av16 },
      outputs: [{ files: ['master.m3u8', 'stream_0.m3u8', 'stream_1.m3u8', 'seg_0_000.ts', 'seg_1_000.ts'] }],
    },
    {
      id: 'hls-input-declared',
      title: 'an HLS playlist input whose segments are declared inputs',
      body: job('hls-input', {
        inputs: [
          { url: `s3://${b}/hls/index.m3u8`, options: '-f hls' },
          { url: `s3://${b}/hls/seg0.ts` },
          { url: `s3://${b}/hls/seg1.ts` },
        ],
        outputs: [{ url: `s3://${b}/out/from-hls.mp4`, options: '-map 0 -c copy' }],
      }),
      media: {
        [`s3://${b}/hls/index.m3u8`]: { kind: 'hls-list', entries: ['seg0.ts', 'seg1.ts'] },
        [`s3://${b}/hls/seg0.ts`]: { kind: 'ts', seconds: 2 },
        [`s3://${b}/hls/seg1.ts`]: { kind: 'ts', seconds: 2 },
      },
      outputs: [{ streams: ['video', 'audio'], duration: [3.5, 4.5] }],
    },
    {
      id: 'still-image-loop',
      title: 'a still image looped into a 3 s video',
      body: job('still', {
        inputs: [{ url: `s3://${b}/in/poster.jpg`, options: '-loop 1 -t 3' }],
        outputs: [
          { url: `s3://${b}/out/still.mp4`, options: '-c:v libx264 -preset veryfast -pix_fmt yuv420p -r 10' },
        ],
      }),
      media: { [`s3://${b}/in/poster.jpg`]: { kind: 'image' } },
      outputs: [{ streams: ['video'], duration: [2.5, 3.5] }],
    },
    {
      id: 'hevc-x265',
      title: 'HEVC with x265 parameters and the hvc1 tag',
      body: one(
        'hevc',
        `s3://${b}/out/hevc.mp4`,
        '-t 2 -c:v libx265 -preset ultrafast -crf 30 -tag:v hvc1 -x265-params log-level=error:keyint=20 -c:a copy',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'] }],
    },
    {
      id: 'av1-svt',
      title: 'AV1 with SVT-AV1',
      body: one(
        'av1',
        `s3://${b}/out/av1.mp4`,
        '-t 2 -c:v libsvtav1 -preset 12 -crf 45 -svtav1-params tune=0 -an',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video'] }],
    },
    {
      id: 'vp9-webm',
      title: 'VP9 + Opus in WebM',
      body: one(
        'vp9',
        `s3://${b}/out/vp9.webm`,
        '-t 2 -c:v libvpx-vp9 -b:v 0 -crf 45 -deadline realtime -cpu-used 8 -row-mt 1 -c:a libopus -b:a 48k',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['video', 'audio'] }],
    },
    {
      id: 'loudnorm-audio',
      title: 'loudness-normalized AAC audio',
      body: one(
        'loudnorm',
        `s3://${b}/out/audio.m4a`,
        '-vn -af loudnorm=I=-16:TP=-1.5:LRA=11 -ar 48000 -c:a aac -b:a 128k',
      ),
      media: { [src]: av16 },
      outputs: [{ streams: ['audio'] }],
    },
    {
      id: 'nvidia-nvenc',
      title: 'NVIDIA: NVDEC decode, CUDA scale, NVENC encode',
      body: job('nvenc', {
        compute: 'nvidia',
        inputs: [{ url: src, options: '-hwaccel cuda -hwaccel_output_format cuda' }],
        outputs: [
          {
            url: `s3://${b}/out/nvenc.mp4`,
            options:
              '-vf scale_cuda=-2:720 -c:v h264_nvenc -preset p4 -tune hq -rc vbr -cq 23 -b:v 0 -c:a copy',
          },
        ],
      }),
      media: { [src]: av16 },
      needs: 'an NVIDIA GPU',
      outputs: [{ streams: ['video', 'audio'] }],
    },
    {
      id: 'xilinx-u30',
      title: 'Xilinx U30: hardware decode and encode',
      body: job('u30', {
        compute: 'xilinx',
        inputs: [{ url: src, options: '-c:v mpsoc_vcu_h264 -lxlnx_hwdev 0' }],
        outputs: [
          {
            url: `s3://${b}/out/u30.mp4`,
            options: '-c:v mpsoc_vcu_h264 -b:v 4M -periodicity-idr 120 -c:a copy',
          },
        ],
      }),
      media: { [src]: av16 },
      needs: 'a Xilinx Alveo U30 and its FFmpeg build',
      outputs: [{ streams: ['video', 'audio'] }],
    },
  ];
}
