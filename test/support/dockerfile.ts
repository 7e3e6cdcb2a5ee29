/**
 * A small Dockerfile reader for the image checks: instructions with line continuations joined, the build
 * arguments' defaults, and each stage's base image with those defaults filled in.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** The stage's name (`AS name`), or its index when it has none. */
  name: string;
  /** The FROM image with build arguments expanded, e.g. `node:24.21.0-bookworm-slim` or another stage's name. */
  from: string;
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  instructions: Instruction[];
  /** Defaults of every `ARG name=value`, global or in a stage (later ones win). */
  args: Record<string, string>;
  stages: Stage[];
  /** Replaces `$NAME` and `${NAME}` with the argument defaults; unknown names are left as they are. */
  expand(text: string): string;
}

/** Instructions of a Dockerfile with line continuations joined and comments dropped. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buffer === '') start = index + 1;
    if (line.trimStart().startsWith('#')) return;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(buffer);
    if (!match) throw new Error(`line ${start}: cannot parse "${buffer}"`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.replace(/\s+/g, ' ').trim(), line: start });
    buffer = '';
  });
  return out;
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = parseInstructions(text);
  const args: Record<string, string> = {};
  for (const i of instructions.filter((i) => i.keyword === 'ARG' && i.args.includes('='))) {
    const [name, value] = i.args.split('=', 2) as [string, string];
    args[name] = value.replace(/^"(.*)"$/, '$1');
  }
  const expand = (s: string): string => {
    let out = s;
    // Defaults may refer to other arguments (FFMPEG_URL uses FFMPEG_VERSION): expand until nothing changes.
    for (let round = 0; round < 5; round++) {
      const next = out.replace(/\$\{?(\w+)\}?/g, (m, v: string) => args[v] ?? m);
      if (next === out) break;
      out = next;
    }
    return out;
  };
  const stages: Stage[] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') {
      const words = i.args.split(' ').filter((w) => !w.startsWith('--platform='));
      const name = /^as$/i.test(words[1] ?? '') ? words[2]! : String(stages.length);
      stages.push({ name, from: expand(words[0]!), line: i.line, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(i);
    }
  }
  return { instructions, args, stages, expand };
}

/** Words of a shell command, with simple single or double quotes removed (no expansion, no escapes). */
export function shellWords(command: string): string[] {
  return (command.match(/"[^"]*"|'[^']*'|[^\s]+/g) ?? []).map((w) => w.replace(/^(["'])(.*)\1$/, '$2'));
}

/** The packages each `apt-get install` of a RUN names (options dropped, `name=version` kept as written). */
export function aptInstallPackages(run: string): string[] {
  const packages: string[] = [];
  for (const command of run.split(/&&|\|\||;|\|/)) {
    const words = shellWords(command.trim());
    const apt = words.findIndex((w) => w === 'apt-get' || w === 'apt');
    if (apt < 0) continue;
    const rest = words.slice(apt + 1).filter((w) => !w.startsWith('-'));
    if (rest[0] === 'install') packages.push(...rest.slice(1));
  }
  return packages;
}
