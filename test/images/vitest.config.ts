import { defineConfig } from 'vitest/config';

// `make test-images`: the gateway and CPU worker images built from their Dockerfiles with podman and run as the
// chart runs them (test/images). Not part of `make test`: a first run compiles FFmpeg (minutes on two cores).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/images/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
  },
});
