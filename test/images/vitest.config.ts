import { defineConfig } from 'vitest/config';

// `make test-images`: the gateway and CPU worker images built from their Dockerfiles with podman and run as the
// chart runs them (test/images). Not part of `make test`: a first run compiles FFmpeg (minutes on two cores).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/images/**/*.test.ts'],
    testTimeout: 300_000,
    // The first build compiles FFmpeg: minutes on an idle machine, over an hour on a busy two-core one.
    hookTimeout: 3 * 3_600_000,
    fileParallelism: false,
  },
});
