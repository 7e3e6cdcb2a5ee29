/**
 * Parses ffmpeg's `-progress pipe:1` stream (blocks of key=value lines, each ending with
 * `progress=continue` or `progress=end`) into snapshots.
 */
export interface ProgressSnapshot {
  /** Media time written so far, in seconds. */
  outTimeSeconds: number;
  frame: number;
  fps: number;
  /** Encoding speed as a multiple of real time. */
  speed: number;
  done: boolean;
}

export class ProgressParser {
  #partial = '';
  #block = new Map<string, string>();
  readonly #onSnapshot: (snapshot: ProgressSnapshot) => void;

  constructor(onSnapshot: (snapshot: ProgressSnapshot) => void) {
    this.#onSnapshot = onSnapshot;
  }

  push(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (key === 'progress') {
        this.#onSnapshot(this.#snapshot(value === 'end'));
        this.#block.clear();
      } else this.#block.set(key, value);
    }
  }

  #snapshot(done: boolean): ProgressSnapshot {
    const micros = Number(this.#block.get('out_time_us') ?? this.#block.get('out_time_ms'));
    return {
      outTimeSeconds: Number.isFinite(micros) && micros > 0 ? micros / 1e6 : 0,
      frame: finite(this.#block.get('frame')),
      fps: finite(this.#block.get('fps')),
      speed: finite(this.#block.get('speed')?.replace(/x$/, '')),
      done,
    };
  }
}

function finite(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** Percent of the input duration reached, clamped to 0..100 (unknown duration → 0 until done). */
export function percentOf(snapshot: ProgressSnapshot, durationSeconds: number | undefined): number {
  if (snapshot.done) return 100;
  if (!durationSeconds || durationSeconds <= 0) return 0;
  return Math.max(0, Math.min(99.9, Math.round((snapshot.outTimeSeconds / durationSeconds) * 1000) / 10));
}
