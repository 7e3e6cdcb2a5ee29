/**
 * The runtime settings the images give the gateway and the workers (each Dockerfile's final `ENV`; a
 * test keeps them equal), so local fleets, benchmarks, tests and the soak run the services as a pod does.
 * - `--max-semi-space-size=4`: V8's young generation capped at 4 MiB a semi-space. Left to grow, it
 *   keeps about 25 MiB of an idle process's memory (`make bench`'s `*_idle_rss_mb` lines).
 * - `MALLOC_ARENA_MAX=2`: otherwise glibc gives each thread (libuv's pool, V8's helpers) an arena of
 *   its own, and memory freed across them is held, not returned.
 */
export const SERVICE_RUNTIME_ENV = {
  NODE_OPTIONS: '--max-semi-space-size=4',
  MALLOC_ARENA_MAX: '2',
} as const;

/** `env` with the service runtime settings added; Node options already in `env` are kept, after ours. */
export function withServiceRuntime(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const nodeOptions = [SERVICE_RUNTIME_ENV.NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ');
  return { ...env, ...SERVICE_RUNTIME_ENV, NODE_OPTIONS: nodeOptions };
}
