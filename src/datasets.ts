import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { type Dataset, loadDataset } from './validation/schema.ts';

/** Where the repository declares its datasets, relative to the package root (DATASETS_FILE). */
export const DATASETS_FILE = 'schemas/datasets.json';

/** One entry of the declaration: a prefix of the inbound bucket picks a schema and a table. */
export interface DeclaredDataset {
  /** Names the dataset in summaries and logs, and its table in DATASET_TABLES. */
  name: string;
  /** The inbound keys it takes, e.g. `grades/`. */
  prefix: string;
  /** Its schema file, relative to the package root. */
  schema: string;
  /** Takes the keys under no dataset's prefix; at most one dataset is the default. */
  default: boolean;
}

/** A dataset as the pipeline uses it: where its files come from, its compiled schema, its table. */
export interface RoutedDataset {
  name: string;
  /** Empty for the one dataset of a setup without a declaration: it takes every key. */
  prefix: string;
  isDefault: boolean;
  table: string;
  dataset: Dataset;
}

export interface Datasets {
  /** False for today's one-dataset setup (TABLE_NAME and SCHEMA_FILE, no declaration). */
  declared: boolean;
  list: readonly RoutedDataset[];
}

type Env = Record<string, string | undefined>;

/** A dataset name is part of a table's logical id, so letters, digits and `-` only. */
const NAME = /^[a-z][a-z0-9-]{0,39}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads and checks the declaration: unique names and prefixes, no prefix inside another (a key
 * would match two), at most one default. Problems are ConfigErrors naming the file and the entry.
 */
export function readDeclaration(file: string): DeclaredDataset[] {
  const fail = (problem: string): never => {
    throw new ConfigError(`DATASETS_FILE ${file}: ${problem}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (error) {
    fail(`cannot be read as JSON (${(error as Error).message})`);
  }
  const entries = isObject(raw) ? raw.datasets : undefined;
  if (!Array.isArray(entries) || entries.length === 0) {
    fail('must have "datasets", a list of {"name", "prefix", "schema"}');
  }
  const declared = (entries as unknown[]).map((entry, i): DeclaredDataset => {
    const at = `dataset ${i + 1}`;
    if (!isObject(entry)) return fail(`${at} must be an object`);
    const { name, prefix, schema } = entry;
    if (typeof name !== 'string' || !NAME.test(name)) {
      fail(`${at}: "name" must be lower-case letters, digits and "-", starting with a letter`);
    }
    if (typeof prefix !== 'string' || !/^[^/].*\/$/.test(prefix)) {
      fail(`dataset ${name}: "prefix" must be a folder of the inbound bucket, e.g. "${name}/"`);
    }
    if (typeof schema !== 'string' || schema === '') {
      fail(
        `dataset ${name}: "schema" must name its schema file, e.g. "schemas/${name}.schema.json"`,
      );
    }
    if (entry.default !== undefined && typeof entry.default !== 'boolean') {
      fail(`dataset ${name}: "default" must be true or false`);
    }
    return {
      name: name as string,
      prefix: prefix as string,
      schema: schema as string,
      default: entry.default === true,
    };
  });
  for (const [i, a] of declared.entries()) {
    for (const b of declared.slice(i + 1)) {
      if (a.name === b.name) fail(`the name ${a.name} is declared twice`);
      if (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix)) {
        fail(`the prefixes of ${a.name} (${a.prefix}) and ${b.name} (${b.prefix}) overlap`);
      }
    }
  }
  const defaults = declared.filter((d) => d.default).map((d) => d.name);
  if (defaults.length > 1) fail(`only one dataset may be the default, not ${defaults.join(', ')}`);
  return declared;
}

/** DATASET_TABLES: the table of each declared dataset, as a JSON object of name → table name. */
function tableMap(env: Env): Record<string, string> {
  const text = env.DATASET_TABLES?.trim() ?? '';
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    map = undefined;
  }
  if (!isObject(map) || !Object.values(map).every((t) => typeof t === 'string' && t !== '')) {
    throw new ConfigError(
      'DATASET_TABLES must be a JSON object of dataset name → table name, e.g. {"grades":"grades"}',
    );
  }
  return map as Record<string, string>;
}

/** A one-dataset setup's name for its dataset: the schema file's, `student` for the bundled one. */
function nameOf(schemaFile: string | undefined): string {
  return basename(schemaFile ?? 'student.schema.json').replace(/(\.schema)?\.json$/i, '');
}

/**
 * The datasets this function serves, each schema compiled once, at cold start. With
 * DATASET_TABLES, the declaration (DATASETS_FILE, schemas/datasets.json by default) and a table per
 * declared dataset; without, today's single dataset: SCHEMA_FILE (or the bundled student schema)
 * into TABLE_NAME, for every key.
 */
export function loadDatasets(env: Env): Datasets {
  const schemaFile = env.SCHEMA_FILE?.trim() || undefined;
  if (env.DATASET_TABLES?.trim() === undefined || env.DATASET_TABLES.trim() === '') {
    const table = env.TABLE_NAME?.trim();
    if (!table) throw new ConfigError('Missing required environment variable TABLE_NAME');
    const dataset = loadDataset(schemaFile);
    const only = { name: nameOf(schemaFile), prefix: '', isDefault: true, table, dataset };
    return { declared: false, list: [only] };
  }
  for (const name of ['TABLE_NAME', 'SCHEMA_FILE']) {
    if (env[name]?.trim()) {
      throw new ConfigError(`${name} is for a single dataset: with DATASET_TABLES, leave it unset`);
    }
  }
  const file = env.DATASETS_FILE?.trim() || DATASETS_FILE;
  const tables = tableMap(env);
  const declared = readDeclaration(file);
  const unknown = Object.keys(tables).filter((name) => !declared.some((d) => d.name === name));
  if (unknown.length > 0) {
    throw new ConfigError(`DATASET_TABLES names datasets ${file} does not declare: ${unknown}`);
  }
  const list = declared.map((entry): RoutedDataset => {
    const table = tables[entry.name];
    if (!table) throw new ConfigError(`DATASET_TABLES has no table for the dataset ${entry.name}`);
    const dataset = loadDataset(entry.schema, `${file}, dataset ${entry.name}: schema`);
    return { name: entry.name, prefix: entry.prefix, isDefault: entry.default, table, dataset };
  });
  return { declared: true, list };
}

/** The dataset an inbound key belongs to: the one whose prefix it is under, else the default. */
export function datasetFor(datasets: Datasets, key: string): RoutedDataset | null {
  return (
    datasets.list.find((d) => d.prefix !== '' && key.startsWith(d.prefix)) ??
    datasets.list.find((d) => d.isDefault) ??
    null
  );
}

/** Why a key is not loaded when it is under no dataset's prefix and there is no default. */
export function noDatasetDetail(datasets: Datasets, key: string): string {
  const prefixes = datasets.list.map((d) => d.prefix).join(', ');
  return `${key} is under no dataset's prefix (${prefixes}) and no default dataset is declared`;
}
