/** Prints vitest's JSON results as one plain line: `tests: N passed, N failed, N skipped`. */
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.ffleet/test-results.json';
const results = JSON.parse(readFileSync(file, 'utf8')) as {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
};
process.stdout.write(
  `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped\n`,
);
