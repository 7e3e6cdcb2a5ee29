import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no server; `e2e` starts real Redis, a real S3 server and real
// ffmpeg workers (see test/support/stack.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['services/*/test/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/chart/**/*.test.ts'],
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
