export * from './graph.ts';
export * from './measure.ts';
export * from './parse.ts';
export * from './probe.ts';
export * from './records.ts';
export * from './stats.ts';
export * from './windows.ts';
