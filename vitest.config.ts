import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no server of its own (some run real ffmpeg, helm or Chromium, so
// they get more than vitest's 5 s on a busy machine); `e2e` starts real Redis, a real S3 server
// and real ffmpeg workers (see test/support/fleet.ts and scripts/lib/stack.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['services/*/test/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/chart/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
