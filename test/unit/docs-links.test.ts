/**
 * Every relative link in README.md, docs/ and the chart's README must lead somewhere: the file
 * exists, and a `#anchor` names a heading of that file (GitHub's heading ids).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = [
  'README.md',
  'charts/ffleet/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

function links(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^\[[^\]]+\]:\s+(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...references].filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href));
}

describe('documentation links', () => {
  it('finds the pages and their links', () => {
    expect(PAGES).toContain('docs/README.md');
    expect(links(readFileSync(join(ROOT, 'README.md'), 'utf8')).length).toBeGreaterThan(5);
  });

  it('computes heading ids as GitHub does', () => {
    const ids = headingIds('# A `make dev` run\n## Traces\n```\n# not a heading\n```\n## Traces\n');
    expect([...ids]).toEqual(['a-make-dev-run', 'traces', 'traces-1']);
  });

  for (const page of PAGES) {
    it(`${page}: every relative link and anchor resolves`, () => {
      const file = join(ROOT, page);
      const broken: string[] = [];
      for (const href of links(readFileSync(file, 'utf8'))) {
        const [path, anchor] = href.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), decodeURI(path));
        if (!existsSync(target)) {
          broken.push(`${href}: no file ${relative(ROOT, target)}`);
          continue;
        }
        if (anchor && target.endsWith('.md') && !headingIds(readFileSync(target, 'utf8')).has(anchor))
          broken.push(`${href}: no heading #${anchor} in ${relative(ROOT, target)}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
