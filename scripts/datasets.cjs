'use strict';
// What serverless.yml derives from the dataset declaration (schemas/datasets.json), read by
// `${file(./scripts/datasets.cjs):…}` variables: one table per dataset, keyed as its schema's
// `x-table-key` says, the list of those tables for IAM, and the name → table map the functions
// get as DATASET_TABLES. The function checks the declaration and the schemas fully at cold start
// (src/datasets.ts); this reads only what the template needs, and the template test compares the
// tables it makes with the schemas as the function compiles them.
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DECLARATION = 'schemas/datasets.json';

/**
 * A table deployed before datasets existed keeps its logical id: a new id would make
 * CloudFormation replace the table (and, with UpdateReplacePolicy Retain, leave its data behind).
 */
const KEPT_LOGICAL_IDS = { students: 'StudentTable' };
/** Logical ids serverless.yml already uses for other resources. */
const TAKEN_LOGICAL_IDS = new Set(['LedgerTable']);

/** JSON Schema column types as DynamoDB key attribute types (a key is a string or a number). */
const ATTRIBUTE_TYPES = { string: 'S', integer: 'N', number: 'N' };

function readJson(file) {
  try {
    return JSON.parse(readFileSync(resolve(ROOT, file), 'utf8'));
  } catch (error) {
    throw new Error(`${file} cannot be read as JSON (${error.message})`);
  }
}

/** `grades` → `GradesTable`, `course-lists` → `CourseListsTable`. */
function logicalIdOf(name) {
  if (KEPT_LOGICAL_IDS[name]) return KEPT_LOGICAL_IDS[name];
  const pascal = name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  const id = `${pascal}Table`;
  if (TAKEN_LOGICAL_IDS.has(id) || Object.values(KEPT_LOGICAL_IDS).includes(id)) {
    throw new Error(
      `${DECLARATION}: the dataset name ${name} would make the table id ${id}, taken`,
    );
  }
  return id;
}

/** The declared datasets, each with its table's logical id and key (attribute name and type). */
function datasets(declaration = DECLARATION) {
  const entries = readJson(declaration).datasets;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new Error(`${declaration} must have "datasets", a list of {"name", "prefix", "schema"}`);
  }
  return entries.map(({ name, schema: file }) => {
    const schema = readJson(file);
    const tableKey = schema['x-table-key'] ?? {};
    const key = [tableKey.partition, tableKey.sort]
      .filter((column) => column !== undefined)
      .map((column) => {
        const type = ATTRIBUTE_TYPES[schema.properties?.[column]?.type];
        if (!type) {
          throw new Error(`${file}: the key column ${column} must be a string, integer or number`);
        }
        return { name: column, type };
      });
    if (key.length === 0) throw new Error(`${file}: "x-table-key" must name the partition key`);
    return { name, logicalId: logicalIdOf(name), key };
  });
}

/** One on-demand table with point-in-time recovery per dataset, and an output naming it. */
function tables(deletionProtection) {
  const Resources = {};
  const Outputs = {};
  for (const { logicalId, key } of datasets()) {
    Resources[logicalId] = {
      Type: 'AWS::DynamoDB::Table',
      // A change that replaces the table (a new key) keeps the old one and its data; removal is
      // guarded by deletion protection on prod.
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: key.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
        KeySchema: key.map((k, i) => ({
          AttributeName: k.name,
          KeyType: i === 0 ? 'HASH' : 'RANGE',
        })),
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: deletionProtection,
      },
    };
    Outputs[`${logicalId}Name`] = { Value: { Ref: logicalId } };
  }
  return { Resources, Outputs };
}

module.exports = {
  datasets,
  /** `resources:` entry: the tables (deletion protection from the stage's params). */
  resources: async ({ resolveVariable }) => {
    const protection = await resolveVariable('param:tableDeletionProtection');
    return tables(protection === true || protection === 'true');
  },
  /** The tables' ARNs, for the statements that write records. */
  tableArns: () => datasets().map(({ logicalId }) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] })),
  /** DATASET_TABLES: `{"<dataset>":"<table name>",…}`, the names filled in by CloudFormation. */
  tableMap: () => ({
    'Fn::Sub': JSON.stringify(
      Object.fromEntries(datasets().map(({ name, logicalId }) => [name, `\${${logicalId}}`])),
    ),
  }),
};
