/**
 * Attribute names ffleet puts on spans and resources. Where OpenTelemetry's semantic conventions
 * define a name it is used; incubating names are copied here, as the conventions recommend.
 */
export const RESOURCE = {
  serviceName: 'service.name',
  hostArch: 'host.arch',
  /** The node's `node.kubernetes.io/instance-type`, e.g. c6i.2xlarge. */
  hostType: 'host.type',
  /** The node's `topology.kubernetes.io/zone`. */
  zone: 'cloud.availability_zone',
  k8sNode: 'k8s.node.name',
  k8sPod: 'k8s.pod.name',
  k8sNamespace: 'k8s.namespace.name',
  pool: 'ffleet.pool',
  accelerator: 'ffleet.accelerator',
  /** The node's `karpenter.sh/capacity-type`: spot or on-demand. */
  capacityType: 'ffleet.capacity_type',
} as const;

export const SPAN = {
  jobId: 'ffleet.job.id',
  jobName: 'ffleet.job.name',
  pool: 'ffleet.pool',
  attempt: 'ffleet.job.attempt',
  inputBytes: 'ffleet.input.bytes',
  outputBytes: 'ffleet.output.bytes',
  mediaDurationSeconds: 'ffleet.media.duration_seconds',
  /** ffmpeg speed as a multiple of real time. */
  speed: 'ffleet.ffmpeg.speed',
  exitCode: 'ffleet.ffmpeg.exit_code',
  /** A chunked encode: the chunk a child encodes, how many chunks the plan made, frames. */
  chunkIndex: 'ffleet.chunk.index',
  rung: 'ffleet.ladder.rung',
  /** A previews job: the sprite sheet or snippet a child makes, and how many of each the plan made. */
  previewIndex: 'ffleet.previews.index',
  sheets: 'ffleet.previews.sheets',
  snippets: 'ffleet.previews.snippets',
  chunks: 'ffleet.chunks',
  frames: 'ffleet.frames',
} as const;

/** Span names of one job's trace, in the order they run. */
export const SPAN_NAMES = {
  job: 'job',
  download: 'download',
  ffmpeg: 'ffmpeg',
  upload: 'upload',
  quality: 'quality',
  analyse: 'analyse',
  split: 'split',
  /** A quality target's CRF search: the probe encodes and their measurements. */
  probe: 'probe',
} as const;

/** Top-level spans of pipelines' steps and children (a single job's is `job`). */
export const PIPELINE_SPAN = {
  plan: 'plan',
  join: 'join',
  chunk: 'chunk',
  audio: 'audio',
  /** A batch's item: an ordinary job in the batch's trace. */
  item: 'item',
  gate: 'gate',
  /** A batch's last step: the manifest. */
  manifest: 'manifest',
  rung: 'rung',
  package: 'package',
  /** A previews job's sprite sheet and snippet children. */
  sheet: 'sheet',
  snippet: 'snippet',
} as const;

/** The node labels that describe where a job ran. */
export const NODE_LABELS = {
  instanceType: 'node.kubernetes.io/instance-type',
  zone: 'topology.kubernetes.io/zone',
  capacityType: 'karpenter.sh/capacity-type',
} as const;
