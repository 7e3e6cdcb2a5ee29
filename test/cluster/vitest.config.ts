import { defineConfig } from 'vitest/config';

// `make test-cluster`: the chart on a real control plane (scripts/cluster). Not part of `make test`: the first
// run builds Kubernetes from source into the cache, and each run boots etcd, an API server and friends.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/cluster/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 3_600_000,
    fileParallelism: false,
  },
});
