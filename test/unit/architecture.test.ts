import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
/** A module past this many lines is doing more than one job (issue 20). */
const MAX_LINES = 350;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports of a module (type-only ones too: a circle of types is still a circle). */
function relativeImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/g)) {
    found.push(resolve(dirname(file), match[1] as string));
  }
  return found;
}

/** The first circle in an import graph, as the list of files around it, or null. */
function findCircle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const circle = visit(next);
      if (circle) return circle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const circle = visit(node);
    if (circle) return circle;
  }
  return null;
}

describe('Architecture of src/', () => {
  const files = sourceFiles(SRC);
  const texts = new Map(files.map((file) => [file, readFileSync(file, 'utf8')]));

  it('finds a circle when there is one (the scan itself works)', () => {
    // Prepare
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    // Act / Assess
    expect(findCircle(graph)).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCircle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeNull();
    expect(
      relativeImports(
        '/x/src/p/f.ts',
        "import type { A } from './a.ts';\nimport {\n  b,\n} from '../b.ts';\nimport z from 'zod';",
      ),
    ).toEqual(['/x/src/p/a.ts', '/x/src/b.ts']);
  });

  it('has no circle of imports', () => {
    // Prepare
    const graph = new Map(
      files.map((file) => [file, relativeImports(file, texts.get(file) as string)]),
    );
    // Act
    const circle = findCircle(graph);
    // Assess
    expect(circle?.map((file) => relative(SRC, file)) ?? null).toBeNull();
  });

  it(`has no module over ${MAX_LINES} lines`, () => {
    const long = files
      .map((file) => ({
        file: relative(SRC, file),
        lines: (texts.get(file) as string).split('\n').length,
      }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
