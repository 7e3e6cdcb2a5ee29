import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parse as parseYaml } from 'yaml';
import { FfleetError } from '../errors.ts';

const Name = Type.String({ pattern: '^[a-z][a-z0-9-]{0,30}$' });

export const PoolSchema = Type.Object(
  {
    family: Name,
    queue: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' }),
    arch: Type.Union([Type.Literal('amd64'), Type.Literal('arm64')]),
    accelerator: Type.Union([Type.Literal('none'), Type.Literal('nvidia'), Type.Literal('xilinx')]),
    instanceTypes: Type.Array(Type.String({ pattern: '^[a-z0-9]+[a-z0-9-]*\\.[a-z0-9]+$' })),
    default: Type.Optional(Type.Boolean()),
    concurrency: Type.Integer({ minimum: 1, maximum: 64 }),
    encoders: Type.Array(Type.String()),
    hwaccels: Type.Array(Type.String()),
    /** The most jobs the pool's queue holds waiting for a worker; a submission past it is a 429. */
    maxQueued: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type PoolConfig = Static<typeof PoolSchema>;
export interface Pool extends PoolConfig {
  name: string;
}

const RegistryFileSchema = Type.Object(
  { pools: Type.Record(Name, PoolSchema) },
  { additionalProperties: false },
);
const checkRegistryFile = TypeCompiler.Compile(RegistryFileSchema);

export const DEFAULT_POOLS_FILE = fileURLToPath(new URL('./pools.yaml', import.meta.url));

/** The pools of a fleet and how a job's `compute` and `instanceType` pick one of them. */
export class PoolRegistry {
  readonly pools: readonly Pool[];

  constructor(pools: Pool[]) {
    if (pools.length === 0) throw new Error('the pool registry lists no pools');
    const queues = new Set<string>();
    for (const pool of pools) {
      if (queues.has(pool.queue)) throw new Error(`two pools use queue "${pool.queue}"`);
      queues.add(pool.queue);
    }
    this.pools = pools;
  }

  static fromYaml(text: string, source = 'pool registry'): PoolRegistry {
    const data: unknown = parseYaml(text);
    if (!checkRegistryFile.Check(data)) {
      const problems = [...checkRegistryFile.Errors(data)].slice(0, 5).map((e) => `${e.path}: ${e.message}`);
      throw new Error(`${source} is invalid: ${problems.join('; ')}`);
    }
    return new PoolRegistry(Object.entries(data.pools).map(([name, pool]) => ({ name, ...pool })));
  }

  static load(file = DEFAULT_POOLS_FILE): PoolRegistry {
    return PoolRegistry.fromYaml(readFileSync(file, 'utf8'), file);
  }

  get(name: string): Pool | undefined {
    return this.pools.find((p) => p.name === name);
  }

  families(): string[] {
    return [...new Set(this.pools.map((p) => p.family))];
  }

  /**
   * The pool for a job: with an instance type, the pool of that family serving it; without,
   * the family's default pool (or its only pool). Unknown values are a 400 listing what exists.
   */
  route(compute: string, instanceType?: string): Pool {
    const family = this.pools.filter((p) => p.family === compute);
    if (family.length === 0) {
      throw new FfleetError(
        'unknown_compute',
        `compute "${compute}" is not a pool family of this fleet`,
        400,
        {
          compute,
          available: this.families(),
        },
      );
    }
    if (instanceType !== undefined) {
      const pool = family.find((p) => p.instanceTypes.includes(instanceType));
      if (!pool) {
        throw new FfleetError(
          'unknown_instance_type',
          `no ${compute} pool serves instance type "${instanceType}"`,
          400,
          { compute, instanceType, available: family.flatMap((p) => p.instanceTypes) },
        );
      }
      return pool;
    }
    return family.find((p) => p.default) ?? family[0]!;
  }
}
