import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export interface SchemaProblem {
  /** JSON pointer of the offending value (`/` for the whole value). */
  path: string;
  message: string;
}

/** A compiled check of data that crosses a process boundary (Redis, S3, HTTP) against its schema. */
export interface SchemaCheck<T extends TSchema> {
  /** True when the value has the schema's shape. */
  is(value: unknown): value is Static<T>;
  /** The first few problems of a value that is not, for error messages. */
  problems(value: unknown, max?: number): SchemaProblem[];
}

export function compileCheck<T extends TSchema>(schema: T): SchemaCheck<T> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    is: (value): value is Static<T> => compiled.Check(value),
    problems(value, max = 10) {
      const problems: SchemaProblem[] = [];
      for (const error of compiled.Errors(value)) {
        problems.push({ path: error.path || '/', message: error.message });
        if (problems.length >= max) break;
      }
      return problems;
    },
  };
}
