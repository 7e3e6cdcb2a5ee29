export * from './attributes.ts';
export * from './context.ts';
export * from './kube-node.ts';
export * from './log-context.ts';
export * from './metrics.ts';
export * from './resource.ts';
export * from './spans.ts';
export * from './tracing.ts';
