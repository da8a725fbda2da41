/**
 * Prints where a `node --cpu-prof` profile spent its time: self time per function and per
 * package, and total (inclusive) time per function, the views that point at what to remove.
 *
 *   npx tsx bench/summariseProfile.ts .scratch/profiles/CPU.….cpuprofile [--top 25]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/@scope/name or node_modules/name, else the path under the project. */
function owner(url: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1] as string;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node';
  return url.replace(/^.*\/(src|bench)\//, '$1/');
}

/** The package plus the file inside it, for telling anonymous functions apart. */
function where(url: string): string {
  const inside = /node_modules\/(?:@[^/]+\/)?[^/]+\/(?:dist-[a-z]+\/)?(.*)$/.exec(url);
  return inside ? `${owner(url)}/${inside[1]}` : owner(url);
}

async function summarise(path: string, top: number): Promise<void> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((sum, t) => sum + t, 0);
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  for (const [id, time] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'}  ${where(url)}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + time);
    packages.set(owner(url), (packages.get(owner(url)) ?? 0) + time);
  }
  // Inclusive time: every function on a sample's stack is charged once for that sample.
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, time] of self) {
    const names = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame)
        names.add(
          `${frame.functionName || '(anonymous)'}  ${where(frame.url)}:${frame.lineNumber + 1}`,
        );
    }
    for (const name of names) inclusive.set(name, (inclusive.get(name) ?? 0) + time);
  }
  const print = (title: string, entries: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, time] of [...entries].sort((p, q) => q[1] - p[1]).slice(0, top)) {
      console.log(
        `${((100 * time) / total).toFixed(1).padStart(5)}%  ${(time / 1000).toFixed(0).padStart(6)} ms  ${name}`,
      );
    }
  };
  console.log(`${path}: ${(total / 1000).toFixed(0)} ms sampled`);
  print('self time by function', functions);
  print('self time by package', packages);
  print('total time by function (including callees)', inclusive);
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
if (positionals.length === 0) throw new Error('usage: summariseProfile.ts <file.cpuprofile>…');
for (const path of positionals) await summarise(path, Number(values.top));
