export { defaultThreads, loadWorkerConfig, type WorkerConfig, WorkerSettings } from './config.ts';
export { probeCapabilities, probeDurationSeconds } from './ffmpeg/probe.ts';
export { FleetWorker } from './fleet/fleet-worker.ts';
export { runJob } from './pipeline/run-job.ts';
export * from './quality/index.ts';
