/**
 * `npm run bench`: generates the CSVs, runs every scenario in a fresh child process (so peak RSS
 * is per scenario), repeated and interleaved so each ratio compares runs made side by side, then
 * prints a table and writes bench/results/latest.json and bench/results/concurrency.svg.
 *
 *   npm run bench                     full run (median of 3, ~9 min)
 *   npm run bench -- --quick          one repetition, smaller files for e and the sweep (~3 min)
 *   npm run bench -- --only a,b       just some groups (a b c d e sweep cap faults); results not
 *                                     written, unless with --update: merged into latest.json
 *                                     by key, the cases not rerun kept from before ("rerun": false)
 *   npm run bench -- --delay 20       the sink's round trip in ms (default 8)
 *   npm run bench -- --reps 5         repetitions (default 3, 1 with --quick)
 *   npm run bench -- --profile        children run under node --cpu-prof (.scratch/profiles);
 *                                     summarise with bench/summariseProfile.ts
 *   npm run bench -- --runner tsx     children run the TypeScript through tsx, not a bundle
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { DEFAULTS } from '../src/config.ts';
import { CapacityProxy } from '../test/support/capacity.ts';
import { DynaliteServer } from './DynaliteServer.ts';
import { type ConcurrencyPoint, drawConcurrencyChart } from './drawConcurrencyChart.ts';
import { GENERATOR_VERSION, generateCsv } from './generateCsv.ts';
import { LatencySink } from './LatencySink.ts';
import type { ScenarioInput, ScenarioOutput } from './scenario.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BENCH = join(ROOT, 'bench');
const DATA = join(BENCH, 'data');
const RESULTS = join(BENCH, 'results');
const BUNDLE = join(BENCH, '.build', 'scenario.mjs');
const PROFILES = join(ROOT, '.scratch', 'profiles');
const TABLE = 'students';
const SWEEP = [1, 2, 4, 8, 16, 32, 64];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    delay: { type: 'string', default: '8' },
    only: { type: 'string' },
    runner: { type: 'string', default: 'bundle' },
    profile: { type: 'boolean', default: false },
    update: { type: 'boolean', default: false },
  },
});

const quick = args.quick ?? false;
const reps = Number(args.reps ?? (quick ? 1 : 3));
const delayMs = Number(args.delay);
const only = args.only ? new Set(args.only.split(',')) : null;
const runner = args.runner === 'tsx' ? 'tsx' : 'bundle';
const concurrency = DEFAULTS.writeConcurrency;
const wanted = (group: string) => only === null || only.has(group);

interface Dataset {
  name: string;
  rows: number;
  crlf: boolean;
  firstStudent: number;
}

const dataset = (rows: number, crlf = false, prefix = 'students', firstStudent = 0): Dataset => ({
  name: `${prefix}-${rows >= 1e6 ? `${rows / 1e6}m` : rows >= 1e3 ? `${rows / 1e3}k` : rows}${crlf ? '-crlf' : ''}`,
  rows,
  crlf,
  firstStudent,
});

const D10K = dataset(10_000);
const D100K = dataset(100_000);
const D1M = dataset(1_000_000);
const D1M_CRLF = dataset(1_000_000, true);
const NAIVE = dataset(500);
/** Keys of its own (students from 2,000,000 on), so warming up never pre-fills a measured table. */
const WARMUP = dataset(5_000, false, 'warmup', 2_000_000);
/** dynalite's runs are short next to the JIT's warm-up: give them a longer one. */
const DYNALITE_WARMUP = dataset(20_000, false, 'warmup', 2_000_000);
const DYNALITE = dataset(quick ? 10_000 : 50_000);
/** Each sweep point gets about the same number of round trips per slot (~3-5 s of work). */
const sweepSet = (c: number) =>
  dataset(Math.min(quick ? 40_000 : 100_000, c * (quick ? 2_500 : 5_000)));

/**
 * Loaders against a capacity-limited sink (test/support/capacity.ts: a token bucket of N write
 * units/s, UnprocessedItems and ProvisionedThroughputExceededException as DynamoDB answers). Each
 * case is sized to about 20–30 s of writing, so the first seconds of learning weigh little.
 */
interface CapacityCase {
  key: string;
  label: string;
  unitsPerSecond: number;
  loaders: number;
  data: Dataset;
}

const CAPACITY_CASES: CapacityCase[] = [
  {
    key: 'cap:1x1000',
    label: 'one loader, 1,000 units/s',
    unitsPerSecond: 1_000,
    loaders: 1,
    data: dataset(quick ? 10_000 : 20_000),
  },
  {
    key: 'cap:1x25',
    label: 'one loader, 25 units/s',
    unitsPerSecond: 25,
    loaders: 1,
    data: dataset(quick ? 400 : 750),
  },
  {
    key: 'cap:3x1000',
    label: 'three loaders at once, 1,000 units/s',
    unitsPerSecond: 1_000,
    loaders: 3,
    data: dataset(quick ? 4_000 : 7_000),
  },
];

/**
 * A loader against a sink of unlimited capacity that throttles at random whatever the rate: 30%
 * of calls rejected whole, 30% half unprocessed. At these odds at most 55% of the items sent are
 * accepted; a writer that took each push-back for a full table would crawl at its floor.
 */
const FAULT_CASE = {
  key: 'faults:random',
  label: 'random faults (30% throttled, 30% half unprocessed)',
  throttled: 0.3,
  halved: 0.3,
  /** c's own file and warm-up, so goodput ÷ c compares like with like. */
  data: quick ? D100K : D1M,
  warmup: WARMUP,
};

interface FaultResult {
  key: string;
  label: string;
  rows: number;
  seconds: number;
  /** Rows per second over the file, timed by the child as c is (all rows accepted by then). */
  rowsPerSecond: number;
  throttledShare: number;
  rejectedShare: number;
  calls: number;
  failedInvocations: number;
}

async function runFaultCase(file: string, warmup: string): Promise<FaultResult> {
  const sink = await CapacityProxy.start({
    table: TABLE,
    unitsPerSecond: Number.POSITIVE_INFINITY,
    delayMs,
    randomFaults: { throttled: FAULT_CASE.throttled, halved: FAULT_CASE.halved, seed: 17 },
  });
  try {
    const [outcome] = await Promise.allSettled([
      runChild({ scenario: 'load', file, warmup, table: TABLE, endpoint: sink.url, concurrency }),
    ]);
    const { stats } = sink;
    // Timed as c is: the child's own clock over the file, after the untimed warm-up; every row
    // is accepted by then (the child checks the count), so rows per second is the goodput.
    const loaded = outcome?.status === 'fulfilled' ? outcome.value : null;
    const seconds = loaded ? loaded.ms / 1000 : 0;
    return {
      key: FAULT_CASE.key,
      label: FAULT_CASE.label,
      rows: loaded ? loaded.rows : 0,
      seconds: round(seconds, 1),
      rowsPerSecond: loaded ? round(loaded.rows / seconds) : 0,
      throttledShare: round((stats.throttled + stats.partial) / Math.max(1, stats.calls), 3),
      rejectedShare: round(stats.throttled / Math.max(1, stats.calls), 3),
      calls: stats.calls,
      failedInvocations: outcome?.status === 'rejected' ? 1 : 0,
    };
  } finally {
    await sink.close();
  }
}

interface CapacityResult {
  key: string;
  label: string;
  unitsPerSecond: number;
  loaders: number;
  rows: number;
  seconds: number;
  /** Items accepted per second (first call to last item accepted) ÷ the table's capacity. */
  goodputOverCapacity: number;
  /** Calls answered with UnprocessedItems or a throttling error. */
  throttledShare: number;
  /** Calls rejected whole (ProvisionedThroughputExceededException). */
  rejectedShare: number;
  calls: number;
  failedInvocations: number;
}

/** One case: its loaders start together, each in its own process, against one limited sink. */
async function runCapacityCase(item: CapacityCase, file: string): Promise<CapacityResult> {
  const sink = await CapacityProxy.start({
    table: TABLE,
    unitsPerSecond: item.unitsPerSecond,
    delayMs,
    startEmpty: true,
  });
  try {
    const outcomes = await Promise.allSettled(
      Array.from({ length: item.loaders }, () =>
        runChild({ scenario: 'load', file, table: TABLE, endpoint: sink.url, concurrency }),
      ),
    );
    const { stats } = sink;
    const seconds = (stats.lastAcceptedAt - stats.firstCallAt) / 1000;
    const rows = outcomes.reduce(
      (sum, o) => sum + (o.status === 'fulfilled' ? o.value.rows : 0),
      0,
    );
    return {
      key: item.key,
      label: item.label,
      unitsPerSecond: item.unitsPerSecond,
      loaders: item.loaders,
      rows,
      seconds: round(seconds, 1),
      goodputOverCapacity: round(stats.accepted / seconds / item.unitsPerSecond, 3),
      throttledShare: round((stats.throttled + stats.partial) / Math.max(1, stats.calls), 3),
      rejectedShare: round(stats.throttled / Math.max(1, stats.calls), 3),
      calls: stats.calls,
      failedInvocations: outcomes.filter((o) => o.status === 'rejected').length,
    };
  } finally {
    await sink.close();
  }
}

interface Job {
  /** a, b, c, d, e: the issue's letters; sweep: the concurrency chart. */
  group: string;
  key: string;
  label: string;
  data: Dataset;
  input: Omit<ScenarioInput, 'file' | 'warmup'>;
  warmup?: Dataset;
  server?: 'sink' | 'dynalite';
}

function plan(): Job[] {
  const jobs: Job[] = [];
  for (const data of [D10K, D100K, D1M, D1M_CRLF]) {
    // Each step adds one stage to the one before, so the CPU per row says what each stage costs.
    jobs.push(
      {
        group: 'a',
        key: `a:${data.name}`,
        label: 'a. csv-parse floor',
        data,
        input: { scenario: 'parse' },
      },
      {
        group: 'a',
        key: `a1:${data.name}`,
        label: 'a1. our parser',
        data,
        input: { scenario: 'parser' },
      },
      {
        group: 'b',
        key: `b1:${data.name}`,
        label: 'b1. + validate, dedup',
        data,
        input: { scenario: 'validate' },
      },
    );
    // The line endings matter to the parser, not to what follows it: CRLF stops at b1.
    if (data.crlf) continue;
    jobs.push(
      {
        group: 'b',
        key: `b2:${data.name}`,
        label: 'b2. + batch, marshal',
        data,
        input: { scenario: 'marshal' },
      },
      {
        group: 'b',
        key: `b:${data.name}`,
        label: 'b. + SDK, no network',
        data,
        input: { scenario: 'cpu' },
      },
      {
        group: 'c',
        key: `c:${data.name}`,
        label: `c. + HTTP, ${delayMs} ms sink`,
        data,
        input: { scenario: 'load', concurrency },
        server: 'sink',
      },
    );
  }
  jobs.push(
    {
      group: 'd',
      key: `d:${NAIVE.name}`,
      label: 'd. naive',
      data: NAIVE,
      input: { scenario: 'naive' },
      server: 'sink',
    },
    {
      group: 'e',
      key: `e:${DYNALITE.name}`,
      label: 'e. dynalite',
      data: DYNALITE,
      input: { scenario: 'load', concurrency },
      warmup: DYNALITE_WARMUP,
      server: 'dynalite',
    },
    {
      group: 'e',
      key: `e0:${DYNALITE.name}`,
      label: "e'. dynalite ceiling",
      data: DYNALITE,
      input: { scenario: 'ceiling', concurrency },
      warmup: DYNALITE_WARMUP,
      server: 'dynalite',
    },
  );
  for (const c of SWEEP) {
    jobs.push({
      group: 'sweep',
      key: `sweep:${c}`,
      label: `c @ concurrency ${c}`,
      data: sweepSet(c),
      // Short runs: warm the JIT, the SDK and the sockets first, so each point is steady state.
      input: { scenario: 'load', concurrency: c },
      warmup: WARMUP,
      server: 'sink',
    });
  }
  return jobs.filter((job) => wanted(job.group));
}

async function ensureData(data: Dataset, manifest: Record<string, unknown>): Promise<string> {
  const path = join(DATA, `${data.name}.csv`);
  const stamp = `${GENERATOR_VERSION}:${data.rows}:${data.crlf}:${data.firstStudent}`;
  if (manifest[data.name] !== stamp || !existsSync(path)) {
    process.stdout.write(`generating ${relative(ROOT, path)} … `);
    const started = performance.now();
    await generateCsv(path, data);
    manifest[data.name] = stamp;
    console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return path;
}

/** The scenarios run as Lambda runs them: one esbuild bundle (serverless.yml's settings). */
async function bundle(): Promise<void> {
  await build({
    entryPoints: [join(BENCH, 'scenario.ts')],
    outfile: BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    mainFields: ['module', 'main'],
    // Not minified (it does not change the speed): profiles stay readable.
    keepNames: true,
    banner: {
      js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}

function runChild(input: ScenarioInput): Promise<ScenarioOutput> {
  const node = [
    // Only so the child can report its live heap after a full GC at the end.
    '--expose-gc',
    ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`] : []),
    ...(runner === 'tsx' ? ['--import', 'tsx', join(BENCH, 'scenario.ts')] : [BUNDLE]),
  ];
  const child = spawn(process.execPath, [...node, JSON.stringify(input)], {
    cwd: ROOT,
    env: {
      ...process.env,
      AWS_REGION: 'us-east-1',
      // The sink and dynalite accept any signature; these are not credentials.
      AWS_ACCESS_KEY_ID: 'BENCH',
      AWS_SECRET_ACCESS_KEY: 'BENCH',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`${input.scenario} on ${input.file} exited ${code}:\n${stderr}${stdout}`));
        return;
      }
      resolve(JSON.parse(last) as ScenarioOutput);
    });
  });
}

interface Run extends ScenarioOutput {
  rowsPerSecond: number;
  mbPerSecond: number;
  /** CPU time per row: steadier than wall time when other work shares the cores. */
  cpuMicrosPerRow: number;
  /** Connections the sink accepted: about the write window when keep-alive works. */
  sinkConnections?: number;
}

interface Median {
  rowsPerSecond: number;
  mbPerSecond: number;
  cpuMicrosPerRow: number;
  maxRssMB: number;
  liveHeapMB: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((p, q) => p - q);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const round = (value: number, digits = 0): number => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const started = performance.now();
  await mkdir(DATA, { recursive: true });
  await mkdir(RESULTS, { recursive: true });
  const manifestPath = join(DATA, 'manifest.json');
  const manifest = existsSync(manifestPath)
    ? (JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>)
    : {};
  const jobs = plan();
  const paths = new Map<string, string>();
  const capacityCases = wanted('cap') ? CAPACITY_CASES : [];
  const faultCases = wanted('faults') ? [FAULT_CASE] : [];
  for (const data of [
    ...jobs.flatMap((job) => (job.warmup ? [job.data, job.warmup] : [job.data])),
    ...capacityCases.map((item) => item.data),
    ...faultCases.flatMap((item) => [item.data, item.warmup]),
  ]) {
    if (!paths.has(data.name)) paths.set(data.name, await ensureData(data, manifest));
  }
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  if (runner === 'bundle') await bundle();
  if (args.profile) await mkdir(PROFILES, { recursive: true });

  const sink = new LatencySink(delayMs);
  await sink.listen();
  const loadBefore = os.loadavg()[0] ?? 0;
  const runs = new Map<string, Run[]>();
  const rowsSeenBySink = new Map<string, number>();
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const job of jobs) {
        const path = paths.get(job.data.name) as string;
        const input: ScenarioInput = { ...job.input, file: path, table: TABLE };
        if (job.warmup) input.warmup = paths.get(job.warmup.name);
        const jobStarted = performance.now();
        let dynamo: DynaliteServer | null = null;
        if (job.server === 'sink') {
          input.endpoint = sink.url;
          sink.reset();
        } else if (job.server === 'dynalite') {
          dynamo = await DynaliteServer.start(TABLE);
          input.endpoint = dynamo.url;
        }
        let output: ScenarioOutput;
        try {
          output = await runChild(input);
        } finally {
          await dynamo?.stop();
        }
        if (job.server === 'sink') {
          const calls = sink.stats.operations;
          rowsSeenBySink.set(job.key, (calls.BatchWriteItem ?? 0) * 25 + (calls.PutItem ?? 0));
        }
        const seconds = output.ms / 1000;
        const run: Run = {
          ...output,
          ms: round(output.ms, 1),
          cpuMs: round(output.cpuMs, 1),
          maxRssMB: round(output.maxRssMB, 1),
          liveHeapMB: round(output.liveHeapMB, 1),
          rowsPerSecond: round(output.rows / seconds),
          mbPerSecond: round(output.bytes / 1e6 / seconds, 2),
          cpuMicrosPerRow: round((output.cpuMs * 1000) / output.rows, 2),
        };
        if (job.server === 'sink') run.sinkConnections = sink.stats.connections;
        runs.set(job.key, [...(runs.get(job.key) ?? []), run]);
        console.log(
          `[${rep}/${reps}] ${job.label.padEnd(22)} ${job.data.name.padEnd(18)} ${String(run.rowsPerSecond).padStart(9)} rows/s ${String(run.maxRssMB).padStart(6)} MB  (${((performance.now() - jobStarted) / 1000).toFixed(1)} s)`,
        );
      }
    }
  } finally {
    await sink.close();
  }
  // Once, not per repetition: each case is tens of seconds of paced writing, not a CPU figure.
  const capacity: CapacityResult[] = [];
  for (const item of capacityCases) {
    const caseStarted = performance.now();
    const result = await runCapacityCase(item, paths.get(item.data.name) as string);
    capacity.push(result);
    console.log(
      `[cap] ${item.label.padEnd(38)} goodput ${result.goodputOverCapacity} × capacity, throttled ${result.throttledShare}, rejected whole ${result.rejectedShare} (${((performance.now() - caseStarted) / 1000).toFixed(1)} s)`,
    );
  }
  const faults: FaultResult[] = [];
  for (const item of faultCases) {
    const caseStarted = performance.now();
    const result = await runFaultCase(
      paths.get(item.data.name) as string,
      paths.get(item.warmup.name) as string,
    );
    faults.push(result);
    console.log(
      `[faults] ${item.label.padEnd(38)} ${result.rowsPerSecond} rows/s, throttled ${result.throttledShare}, rejected whole ${result.rejectedShare}, failed ${result.failedInvocations} (${((performance.now() - caseStarted) / 1000).toFixed(1)} s)`,
    );
  }
  const loadAfter = os.loadavg()[0] ?? 0;

  // --update: the previous run's figures for what was not rerun, marked as such.
  const previous =
    args.update && existsSync(join(RESULTS, 'latest.json'))
      ? (JSON.parse(await readFile(join(RESULTS, 'latest.json'), 'utf8')) as Previous)
      : null;
  const kept = <T extends { key: string }>(fresh: T[], old: T[] | undefined): T[] => {
    const keys = new Set(fresh.map((item) => item.key));
    const before = (old ?? [])
      .filter((item) => !keys.has(item.key))
      .map((item) => ({ ...item, rerun: false }));
    return [...before, ...fresh];
  };
  capacity.splice(0, capacity.length, ...kept(capacity, previous?.capacity));
  faults.splice(0, faults.length, ...kept(faults, previous?.faults));

  const fresh = jobs.map((job) => {
    const list = runs.get(job.key) ?? [];
    return {
      key: job.key,
      label: job.label,
      scenario: job.input.scenario,
      file: job.data.name,
      rows: list[0]?.rows ?? 0,
      bytes: list[0]?.bytes ?? 0,
      concurrency: job.input.concurrency ?? null,
      runs: list,
      median: {
        rowsPerSecond: round(median(list.map((r) => r.rowsPerSecond))),
        mbPerSecond: round(median(list.map((r) => r.mbPerSecond)), 2),
        cpuMicrosPerRow: round(median(list.map((r) => r.cpuMicrosPerRow)), 2),
        maxRssMB: round(median(list.map((r) => r.maxRssMB)), 1),
        liveHeapMB: round(median(list.map((r) => r.liveHeapMB)), 1),
      } satisfies Median,
    };
  });
  const results = kept(fresh, previous?.results as typeof fresh | undefined);
  const byKey = new Map(results.map((r) => [r.key, r]));
  /** Median over repetitions of the ratio within each repetition (runs made side by side). */
  const ratio = (top: string, bottom: string, field: 'rowsPerSecond' | 'maxRssMB') => {
    const a = byKey.get(top)?.runs ?? [];
    const b = byKey.get(bottom)?.runs ?? [];
    if (a.length === 0 || b.length === 0) return null;
    return round(median(a.map((run, i) => run[field] / ((b[i] ?? b[0]) as Run)[field])), 3);
  };
  const rate = (key: string) => byKey.get(key)?.median.rowsPerSecond ?? null;
  const rss = (key: string) => byKey.get(key)?.median.maxRssMB ?? null;

  const ratios = {
    cpuOverParseFloor1m: ratio(`b:${D1M.name}`, `a:${D1M.name}`, 'rowsPerSecond'),
    marshalPathOverParseFloor1m: ratio(`b2:${D1M.name}`, `a:${D1M.name}`, 'rowsPerSecond'),
    validatePathOverParseFloor1m: ratio(`b1:${D1M.name}`, `a:${D1M.name}`, 'rowsPerSecond'),
    validatePathOverParseFloor1mCrlf: ratio(
      `b1:${D1M_CRLF.name}`,
      `a:${D1M_CRLF.name}`,
      'rowsPerSecond',
    ),
    ourParserOverParseFloor1m: ratio(`a1:${D1M.name}`, `a:${D1M.name}`, 'rowsPerSecond'),
    sinkOverCpu1m: ratio(`c:${D1M.name}`, `b:${D1M.name}`, 'rowsPerSecond'),
    sinkOverNaive: ratio(`c:${D1M.name}`, `d:${NAIVE.name}`, 'rowsPerSecond'),
    dynaliteOverCeiling: ratio(`e:${DYNALITE.name}`, `e0:${DYNALITE.name}`, 'rowsPerSecond'),
    rssSink1mOver10k: ratio(`c:${D1M.name}`, `c:${D10K.name}`, 'maxRssMB'),
    rssCpu1mOver10k: ratio(`b:${D1M.name}`, `b:${D10K.name}`, 'maxRssMB'),
  };

  type Op = '>=' | '<=' | '<';
  type Target = { name: string; value: number | null; target: number; op: Op; met: boolean };
  const compare = {
    '>=': (v: number, g: number) => v >= g,
    '<=': (v: number, g: number) => v <= g,
    '<': (v: number, g: number) => v < g,
  };
  const target = (name: string, value: number | null, op: Op, goal: number): Target => ({
    name,
    value,
    target: goal,
    op,
    met: value !== null && Number.isFinite(value) && compare[op](value, goal),
  });
  // b/a, b2/a and RSS(1M)/RSS(10k) are figures now (in ratios), no longer targets.
  const capacityTargets = capacity.flatMap((c) => [
    target(
      `${c.label}: goodput ÷ capacity, no failed invocation`,
      c.failedInvocations > 0 ? 0 : c.goodputOverCapacity,
      '>=',
      0.9,
    ),
    target(`${c.label}: share of calls rejected whole by throttling`, c.rejectedShare, '<=', 0.1),
  ]);
  const cRate = rate(`c:${D1M.name}`);
  const faultTargets = faults.map((f) =>
    target(
      `${f.label}, ${delayMs} ms sink: goodput ÷ c, no failed invocation`,
      f.failedInvocations > 0 || cRate === null ? null : round(f.rowsPerSecond / cRate, 3),
      '>=',
      0.4,
    ),
  );
  const targets: Target[] = [
    ...capacityTargets,
    ...faultTargets,
    target(
      `c: rows/s into the ${delayMs} ms sink at the default concurrency ${concurrency} (1M rows)`,
      rate(`c:${D1M.name}`),
      '>=',
      40_000,
    ),
    target('c/d: pipeline over naive loader', ratios.sinkOverNaive, '>=', 100),
    target(
      'e/e′: dynalite end to end over its own ceiling',
      ratios.dynaliteOverCeiling,
      '>=',
      0.85,
    ),
    // The whole pipeline over real HTTP is what runs in Lambda: the memory target is judged there.
    target('c: peak RSS 1M rows (MB)', rss(`c:${D1M.name}`), '<', 200),
  ].filter((t) => t.value !== null);

  const sweep: ConcurrencyPoint[] = SWEEP.flatMap((c) => {
    const value = rate(`sweep:${c}`);
    return value === null ? [] : [{ concurrency: c, rowsPerSecond: value }];
  });

  printTable(results, ratios, targets, sweep, capacity);
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `\n${minutes.toFixed(1)} min; load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)} (2 cores shared: re-run if a figure looks noisy)`,
  );

  const sinkCheck = [...rowsSeenBySink.entries()].filter(
    ([key, seen]) => seen < (byKey.get(key)?.rows ?? 0),
  );
  if (sinkCheck.length > 0) throw new Error(`The sink saw fewer rows than loaded: ${sinkCheck}`);

  if (only !== null && !args.update) {
    console.log('(--only: results not written; --update merges them into latest.json)');
    return;
  }
  const cpu = os.cpus()[0];
  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    durationMinutes: round(minutes, 1),
    machine: {
      node: process.version,
      cpu: cpu?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGB: round(os.totalmem() / 1024 ** 3, 1),
      loadAverage: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
    },
    settings: {
      quick,
      repetitions: reps,
      sinkDelayMs: delayMs,
      writeConcurrency: concurrency,
      runner,
      files: Object.fromEntries(
        await Promise.all(
          [...paths.entries()].map(async ([name, path]) => [
            name,
            {
              rows: jobs.find((j) => j.data.name === name)?.data.rows,
              bytes: (await stat(path)).size,
            },
          ]),
        ),
      ),
    },
    results,
    concurrency: sweep.length > 0 ? sweep : (previous?.concurrency ?? []),
    capacity,
    faults,
    ratios,
    targets,
  };
  await writeFile(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (sweep.length > 1) {
    await writeFile(
      join(RESULTS, 'concurrency.svg'),
      drawConcurrencyChart({
        points: sweep,
        delayMs,
        cpuCeiling: rate(`b:${D1M.name}`) ?? 0,
        target: 40_000,
        defaultConcurrency: concurrency,
      }),
    );
  }
  console.log(`wrote ${relative(ROOT, join(RESULTS, 'latest.json'))} and concurrency.svg`);
}

/** What --update reads back from the previous latest.json. */
interface Previous {
  results?: unknown[];
  capacity?: CapacityResult[];
  faults?: FaultResult[];
  concurrency?: ConcurrencyPoint[];
}

function printTable(
  results: { label: string; file: string; rows: number; runs: Run[]; median: Median }[],
  ratios: Record<string, number | null>,
  targets: { name: string; value: number | null; target: number; op: string; met: boolean }[],
  sweep: ConcurrencyPoint[],
  capacity: CapacityResult[],
): void {
  const rows = results.map((r) => [
    r.label,
    r.file,
    String(r.rows),
    String(r.median.rowsPerSecond),
    r.median.mbPerSecond.toFixed(2),
    r.median.cpuMicrosPerRow.toFixed(2),
    r.median.maxRssMB.toFixed(1),
    r.median.liveHeapMB.toFixed(1),
    String(r.runs.length),
  ]);
  const header = [
    'scenario',
    'file',
    'rows',
    'rows/s',
    'MB/s',
    'CPU µs/row',
    'peak RSS MB',
    'live heap MB',
    'runs',
  ];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(row));
  if (sweep.length > 0) {
    console.log(
      `\nconcurrency sweep (${delayMs} ms sink): ${sweep.map((p) => `${p.concurrency}→${p.rowsPerSecond}`).join('  ')}`,
    );
  }
  if (capacity.length > 0) {
    console.log(
      `\nagainst a capacity-limited table (${delayMs} ms round trip, WRITE_CONCURRENCY ${concurrency}):`,
    );
    console.log(
      `  ${'case'.padEnd(38)} ${'rows'.padStart(6)} ${'s'.padStart(6)} ${'goodput/capacity'.padStart(17)} ${'throttled'.padStart(10)} ${'rejected whole'.padStart(15)} ${'failed'.padStart(7)}`,
    );
    for (const c of capacity) {
      console.log(
        `  ${c.label.padEnd(38)} ${String(c.rows).padStart(6)} ${String(c.seconds).padStart(6)} ${String(c.goodputOverCapacity).padStart(17)} ${String(c.throttledShare).padStart(10)} ${String(c.rejectedShare).padStart(15)} ${String(c.failedInvocations).padStart(7)}`,
      );
    }
  }
  console.log('\nratios (median of per-repetition ratios):');
  for (const [name, value] of Object.entries(ratios)) {
    if (value !== null) console.log(`  ${name.padEnd(34)} ${value}`);
  }
  console.log('\ntargets:');
  for (const t of targets) {
    console.log(
      `  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.name}: ${t.value} (target ${t.op} ${t.target})`,
    );
  }
}

await main();
