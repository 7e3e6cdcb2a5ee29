export * from './aggregate.ts';
export * from './format.ts';
export * from './html.ts';
export * from './prices.ts';
export * from './records.ts';
export * from './run.ts';
