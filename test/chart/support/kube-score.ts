import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeScoreBin, runCommand } from './chart.ts';

/** One warning or critical finding of kube-score on one object (and container, when the check names one). */
export interface Finding {
  object: string;
  check: string;
  grade: 'critical' | 'warning';
  container: string;
  summary: string;
}

/** A finding the chart keeps on purpose; charts/ffleet/README.md explains each one to users. */
export interface Exception {
  check: string;
  summary: string;
  /** Objects (`Kind/name`) it applies to; all when left out. */
  objects?: RegExp;
  why: string;
}

/** The chart's deliberate choices against kube-score's defaults. A finding not listed here fails `make test`. */
export const KUBE_SCORE_EXCEPTIONS: Exception[] = [
  {
    check: 'container-resources',
    summary: 'CPU limit is not set',
    why: 'CPU limits throttle ffmpeg and Node under the CFS quota even on an idle node; CPU requests reserve what each pod needs',
  },
  {
    check: 'container-image-pull-policy',
    summary: 'ImagePullPolicy is not set to Always',
    why: 'images are deployed by version tag, never moved; IfNotPresent spares a registry round trip per pod when KEDA scales out (image.pullPolicy: Always if you retag)',
  },
  {
    check: 'deployment-has-host-podantiaffinity',
    summary: 'Deployment does not have a host podAntiAffinity set',
    objects: /^Deployment\/.+-worker-/,
    why: 'workers are packed onto the nodes Karpenter sizes for them (several per large instance, one per GPU); an interrupted node hands its jobs back to the queue',
  },
];

interface KubeScoreObject {
  object_name: string;
  type_meta: { kind: string };
  checks: {
    check: { id: string };
    grade: number;
    skipped: boolean;
    comments: { path: string; summary: string }[] | null;
  }[];
}

// kube-score's grades: 1 critical, 5 warning, 7 almost ok, 10 ok.
const GRADES: Record<number, Finding['grade']> = { 1: 'critical', 5: 'warning' };

/** Every warning and critical finding of kube-score's default checks over the manifests. */
export async function kubeScore(manifests: string): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-kube-score-'));
  try {
    const file = join(dir, 'manifests.yaml');
    await writeFile(file, manifests);
    // Exits 1 when anything is critical; the JSON report is complete either way.
    const result = await runCommand(await kubeScoreBin(), ['score', '--output-format', 'json', file]);
    if (!result.stdout.trim().startsWith('[')) throw new Error(`kube-score failed: ${result.stderr}`);
    const objects = JSON.parse(result.stdout) as KubeScoreObject[];
    return objects.flatMap((o) =>
      o.checks
        .filter((c) => !c.skipped && GRADES[c.grade])
        .flatMap((c) =>
          (c.comments?.length ? c.comments : [{ path: '', summary: '' }]).map((comment) => ({
            object: `${o.type_meta.kind}/${o.object_name.split('/').at(-1)}`,
            check: c.check.id,
            grade: GRADES[c.grade]!,
            container: comment.path,
            summary: comment.summary,
          })),
        ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Findings that no exception covers, as readable lines. */
export function unexpectedFindings(findings: Finding[], exceptions = KUBE_SCORE_EXCEPTIONS): string[] {
  return findings
    .filter(
      (f) =>
        !exceptions.some(
          (e) => e.check === f.check && e.summary === f.summary && (e.objects?.test(f.object) ?? true),
        ),
    )
    .map(
      (f) => `${f.object}${f.container ? ` (${f.container})` : ''}: [${f.grade}] ${f.check}: ${f.summary}`,
    );
}
