/** The middle value (the upper one of an even count): what the benches' runs are summed up by. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
