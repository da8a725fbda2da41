import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** Issue 20: a README a newcomer reads in minutes. */
const README_MAX_BYTES = 15_000;

/** A Markdown page's lines outside fenced code blocks (a `# comment` in a shell block is no heading). */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) {
      fence = fence === null ? marker : null;
      continue;
    }
    if (fence === null) lines.push(line);
  }
  return lines;
}

/** GitHub's anchor for a heading: lower-case, punctuation dropped, each space a `-`. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a page offers, with GitHub's `-1`, `-2` … for headings that repeat. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/** The targets of a page's inline links and images, outside code. */
function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      targets.push(match[1] as string);
    }
  }
  return targets;
}

/** What is wrong with the relative links of these pages: one line per broken link or anchor. */
function brokenLinks(root: string, pages: string[]): string[] {
  const problems: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8');
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: … are not ours to check
      const [path = '', anchor] = target.split('#', 2);
      const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path);
      if (!existsSync(file)) {
        problems.push(`${page}: ${target}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!file.endsWith('.md') || statSync(file).isDirectory()) {
        problems.push(`${page}: ${target}: an anchor into a file that is not Markdown`);
      } else if (!anchors(readFileSync(file, 'utf8')).has(anchor)) {
        problems.push(`${page}: ${target}: no heading #${anchor} in ${relative(root, file)}`);
      }
    }
  }
  return problems;
}

function pages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

describe('Function: slug', () => {
  it.each([
    ['Deploy to AWS in five steps', 'deploy-to-aws-in-five-steps'],
    ['Files: what loads and what happens to it', 'files-what-loads-and-what-happens-to-it'],
    ['Serverless Framework v4', 'serverless-framework-v4'],
    ['`MAX_PARTS` and the 16-part cap', 'max_parts-and-the-16-part-cap'],
    ['Student data and the rejected-rows report', 'student-data-and-the-rejected-rows-report'],
  ])('turns %j into GitHub’s anchor %j', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });
});

describe('Function: brokenLinks', () => {
  const write = (dir: string, name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
  };

  it('reports a link to a missing page, a missing anchor and a missing anchor of the same page', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
    write(dir, 'a.md', '# A\n\n## Two words\n\n## Two words\n');
    write(
      dir,
      'b.md',
      [
        '# B',
        '[fine](a.md#two-words) [repeated](a.md#two-words-1) [self](#b) [site](https://example.com/x.md)',
        '[gone](missing.md) [no anchor](a.md#three-words) [no self anchor](#c)',
        '`[in code](nowhere.md)`',
        '```sh',
        '# not a heading',
        '[in a block](nowhere.md)',
        '```',
      ].join('\n'),
    );

    // Act
    const problems = brokenLinks(dir, ['a.md', 'b.md']);

    // Assess
    expect(problems).toEqual([
      'b.md: missing.md: no such file',
      'b.md: a.md#three-words: no heading #three-words in a.md',
      'b.md: #c: no heading #c in b.md',
    ]);
  });

  it('does not take a commented line of a code block for a heading', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
    write(dir, 'a.md', '# A\n\n   ```sh\n   # not-a-heading\n   ```\n\n[x](#not-a-heading)\n');

    // Act
    const problems = brokenLinks(dir, ['a.md']);

    // Assess
    expect(problems).toEqual(['a.md: #not-a-heading: no heading #not-a-heading in a.md']);
  });
});

describe('Documentation: README.md and docs/', () => {
  it('has no broken relative link or anchor', () => {
    expect(brokenLinks(ROOT, pages())).toEqual([]);
  });

  it(`keeps README.md within ${README_MAX_BYTES} bytes`, () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it.each([
    'configuration.md',
    'files.md',
    'guarantees.md',
    'long-files.md',
    'backfill.md',
    'deploy.md',
    'datasets.md',
    'PERFORMANCE.md',
    'rejected-rows.md',
    'header-matching.md',
  ])('has docs/%s, linked from the README', (name) => {
    expect(existsSync(join(ROOT, 'docs', name))).toBe(true);
    expect(linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toContain(`docs/${name}`);
  });
});
