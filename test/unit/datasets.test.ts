import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetFor, loadDatasets, readDeclaration } from '../../src/datasets.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'datasets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function declaration(datasets: unknown[]): string {
  const file = join(dir, `d${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ datasets }));
  return file;
}

const students = { name: 'students', prefix: 'students/', schema: 'schemas/student.schema.json' };
const grades = { name: 'grades', prefix: 'grades/', schema: 'schemas/grades.schema.json' };
const tables = JSON.stringify({ students: 'students-table', grades: 'grades-table' });

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('Function: loadDatasets', () => {
  it('is the one dataset of TABLE_NAME and SCHEMA_FILE when no declaration is used', () => {
    // Act
    const datasets = loadDatasets({
      TABLE_NAME: 'grades',
      SCHEMA_FILE: 'schemas/grades.schema.json',
    });

    // Assess
    expect(datasets.declared).toBe(false);
    expect(datasets.list.map((d) => [d.name, d.prefix, d.table, d.isDefault])).toEqual([
      ['grades', '', 'grades', true],
    ]);
    expect(datasetFor(datasets, 'anything/at/all.csv')?.name).toBe('grades');
  });

  it('compiles every declared schema, each with its own key, into its own table', () => {
    // Act
    const datasets = loadDatasets({
      DATASET_TABLES: tables,
      DATASETS_FILE: declaration([{ ...students, default: true }, grades]),
    });

    // Assess
    expect(datasets.declared).toBe(true);
    const byName = Object.fromEntries(datasets.list.map((d) => [d.name, d]));
    expect(byName.students?.table).toBe('students-table');
    expect(byName.grades?.table).toBe('grades-table');
    expect(byName.grades?.dataset.names).toContain('credits');
    expect(byName.students?.dataset.names).not.toContain('credits');
  });

  it('reads the repository declaration, schemas/datasets.json, by default', () => {
    const datasets = loadDatasets({
      DATASET_TABLES: JSON.stringify({ students: 's', grades: 'g', courses: 'c' }),
    });
    expect(datasets.list.map((d) => d.name).sort()).toEqual(['courses', 'grades', 'students']);
  });

  it('names the file of a schema that cannot be read, and the dataset', () => {
    const file = declaration([students, { ...grades, schema: 'schemas/missing.schema.json' }]);
    expect(configError(() => loadDatasets({ DATASET_TABLES: tables, DATASETS_FILE: file }))).toBe(
      `${file}, dataset grades: schema schemas/missing.schema.json: cannot be read as JSON (ENOENT: no such file or directory, open '${join(process.cwd(), 'schemas/missing.schema.json')}')`,
    );
  });

  it('refuses a declared dataset without a table, a table without a dataset, and TABLE_NAME beside them', () => {
    const file = declaration([students, grades]);
    expect(
      configError(() =>
        loadDatasets({ DATASET_TABLES: JSON.stringify({ students: 's' }), DATASETS_FILE: file }),
      ),
    ).toBe('DATASET_TABLES has no table for the dataset grades');
    expect(
      configError(() =>
        loadDatasets({
          DATASET_TABLES: JSON.stringify({ students: 's', grades: 'g', contacts: 'c' }),
          DATASETS_FILE: file,
        }),
      ),
    ).toContain('does not declare: contacts');
    expect(
      configError(() =>
        loadDatasets({ DATASET_TABLES: tables, DATASETS_FILE: file, TABLE_NAME: 't' }),
      ),
    ).toContain('TABLE_NAME is for a single dataset');
  });
});

describe('Function: readDeclaration', () => {
  it('refuses overlapping prefixes, repeated names and two defaults', () => {
    expect(
      configError(() =>
        readDeclaration(declaration([students, { ...grades, prefix: 'students/grades/' }])),
      ),
    ).toContain('overlap');
    expect(
      configError(() => readDeclaration(declaration([students, { ...grades, name: 'students' }]))),
    ).toContain('declared twice');
    expect(
      configError(() =>
        readDeclaration(
          declaration([
            { ...students, default: true },
            { ...grades, default: true },
          ]),
        ),
      ),
    ).toContain('only one dataset may be the default');
    expect(
      configError(() => readDeclaration(declaration([{ ...grades, prefix: 'grades' }]))),
    ).toContain('"prefix" must be a folder');
  });
});

describe('Function: datasetFor', () => {
  it('picks by prefix, falls back to the default, and finds none without one', () => {
    // Prepare
    const withDefault = loadDatasets({
      DATASET_TABLES: tables,
      DATASETS_FILE: declaration([{ ...students, default: true }, grades]),
    });
    const withoutDefault = loadDatasets({
      DATASET_TABLES: tables,
      DATASETS_FILE: declaration([students, grades]),
    });

    // Act & Assess
    expect(datasetFor(withDefault, 'grades/term1.csv')?.name).toBe('grades');
    expect(datasetFor(withDefault, 'students/term1.csv')?.name).toBe('students');
    expect(datasetFor(withDefault, 'term1.csv')?.name).toBe('students');
    expect(datasetFor(withoutDefault, 'term1.csv')).toBeNull();
    // S3 keys are case-sensitive, and so is a prefix.
    expect(datasetFor(withoutDefault, 'Grades/term1.csv')).toBeNull();
  });
});
