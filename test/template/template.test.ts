import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DATASETS_FILE, loadDatasets, readDeclaration } from '../../src/datasets.ts';
import { readZipEntries } from './readZipEntries.ts';

/**
 * Checks the CloudFormation template that `npm run package:ci` (osls package --stage ci, offline)
 * writes: the properties a security reviewer and an operator rely on, read from what would be
 * deployed rather than from serverless.yml.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE_DIR = join(ROOT, '.serverless');
const TEMPLATE_PATH = join(PACKAGE_DIR, 'cloudformation-template-update-stack.json');

/** Actions AWS cannot scope to anything narrower than `*`; none is granted today. */
const ACTIONS_WITHOUT_RESOURCE_SCOPE = new Set([
  'cloudwatch:PutMetricData',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
]);

/** Environment variables that name a resource of the stack, and the resource each must name. */
const WIRED_VARIABLES = {
  IDEMPOTENCY_TABLE: 'LedgerTable',
  ARCHIVE_BUCKET: 'ArchiveBucket',
  ERROR_BUCKET: 'ErrorBucket',
  TOPIC_ARN: 'SummaryTopic',
} as const;

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}

interface Template {
  Resources: Record<string, Resource>;
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, { Value: unknown }>;
}

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: unknown[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function loadTemplate(): Template {
  if (!existsSync(TEMPLATE_PATH)) {
    throw new Error(
      `${TEMPLATE_PATH} is missing: run \`npm run package:ci\` first (it packages the service offline, no AWS credentials needed)`,
    );
  }
  return JSON.parse(readFileSync(TEMPLATE_PATH, 'utf8')) as Template;
}

const template = loadTemplate();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The value at a property path, or undefined; keeps the assertions below readable. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = isRecord(current) ? current[step] : undefined;
  }
  return current;
}

function resource(logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`Resource ${logicalId} is not in the template`);
  return found;
}

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function props(logicalId: string): Record<string, unknown> {
  return resource(logicalId).Properties ?? {};
}

function ref(logicalId: string): { Ref: string } {
  return { Ref: logicalId };
}

function getAtt(logicalId: string, attribute: string): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalId, attribute] };
}

/**
 * An intrinsic as the text it stands for, with every reference written `<Name>`: `<X>` for a Ref,
 * `<X.Arn>` for a GetAtt, and a Fn::Sub's `<X.Arn>` the same way, so all three compare equal.
 */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return JSON.stringify(value);
  if (typeof value.Ref === 'string') return `<${value.Ref}>`;
  const attribute = value['Fn::GetAtt'];
  if (Array.isArray(attribute)) return `<${attribute.join('.')}>`;
  const sub = value['Fn::Sub'];
  const text = Array.isArray(sub) ? sub[0] : sub;
  if (typeof text === 'string') return text.replace(/\$\{([^}!]+)\}/g, '<$1>');
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string') {
    return asArray(join[1]).map(render).join(join[0]);
  }
  return JSON.stringify(value);
}

/** What CloudFormation would make of a value in account 123456789012, us-east-1. */
function resolve(value: unknown): string {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': '123456789012',
    'AWS::Region': 'us-east-1',
    'AWS::Partition': 'aws',
  };
  return render(value).replace(/<([^>]+)>/g, (_, name: string) => {
    return pseudo[name] ?? `resolved-${name.replace(/[^A-Za-z0-9]/g, '-').toLowerCase()}`;
  });
}

function functionsByLogicalId(): [string, Resource][] {
  return resourcesOfType('AWS::Lambda::Function');
}

function environment(functionId: string): Record<string, unknown> {
  const variables = at(props(functionId), 'Environment', 'Variables');
  return isRecord(variables) ? variables : {};
}

function statementsOf(document: unknown): Statement[] {
  return asArray(at(document, 'Statement')).map((raw) => ({
    Effect: at(raw, 'Effect') as Statement['Effect'],
    Action: asArray(at(raw, 'Action')).map(String),
    Resource: asArray(at(raw, 'Resource')),
    Principal: at(raw, 'Principal'),
    Condition: at(raw, 'Condition') as Statement['Condition'],
  }));
}

/** Every statement of every identity policy, with the resource that holds it. */
function identityStatements(): { owner: string; statement: Statement }[] {
  const found: { owner: string; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const documents =
      r.Type === 'AWS::IAM::Role'
        ? asArray(r.Properties?.Policies).map((policy) => at(policy, 'PolicyDocument'))
        : r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
          ? [r.Properties?.PolicyDocument]
          : [];
    for (const document of documents) {
      for (const statement of statementsOf(document)) found.push({ owner: id, statement });
    }
  }
  return found;
}

function roleStatements(roleId: string): Statement[] {
  return identityStatements()
    .filter(({ owner }) => owner === roleId)
    .map(({ statement }) => statement);
}

/** Resources (rendered) on which a role is allowed an action. */
function allowedResources(roleId: string, action: string): string[] {
  return roleStatements(roleId)
    .filter((s) => s.Effect === 'Allow' && s.Action.includes(action))
    .flatMap((s) => s.Resource.map(render));
}

function roleOf(functionId: string): string {
  const role = props(functionId).Role;
  const attribute = at(role, 'Fn::GetAtt', 0);
  if (typeof attribute !== 'string') throw new Error(`${functionId} has no role of this stack`);
  return attribute;
}

const inboundBucketName = render(props('InboundBucket').BucketName);

/**
 * A function's DATASET_TABLES (a Fn::Sub of `{"<dataset>":"${<TableId>}"}`), as dataset name →
 * logical id of the table.
 */
function datasetTables(functionId: string): Record<string, string> {
  const map = JSON.parse(render(environment(functionId).DATASET_TABLES)) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(map).map(([name, table]) => [name, table.replace(/^<(.+)>$/, '$1')]),
  );
}

/** The ARNs (rendered) of every dataset's table, sorted. */
const datasetTableArns = (): string[] =>
  Object.values(datasetTables('IngestLambdaFunction'))
    .map((id) => `<${id}.Arn>`)
    .sort();

describe('Template: functions', () => {
  it("runs every function on nodejs24.x and arm64, with Lambda's 16-invocation loop cut off", () => {
    // Prepare
    const functions = functionsByLogicalId();

    // Assess
    expect(functions.map(([id]) => id).sort()).toEqual([
      'BatchOperationsLambdaFunction',
      'IngestLambdaFunction',
    ]);
    for (const [id] of functions) {
      expect(props(id).Runtime, id).toBe('nodejs24.x');
      expect(props(id).Architectures, id).toEqual(['arm64']);
      // A long file's parts are a chain of invocations; Terminate would drop its 17th part.
      expect(props(id).RecursiveLoop, id).toBe('Allow');
    }
  });

  it('reserves concurrency only when a number is given, so a new account can deploy', () => {
    // Prepare
    const parameter = template.Parameters?.ReservedConcurrency;

    // Assess
    expect(parameter?.Default).toBe('');
    expect(template.Conditions?.HasReservedConcurrency).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [ref('ReservedConcurrency'), ''] }],
    });
    for (const [id] of functionsByLogicalId()) {
      expect(props(id).ReservedConcurrentExecutions, id).toEqual({
        'Fn::If': ['HasReservedConcurrency', ref('ReservedConcurrency'), ref('AWS::NoValue')],
      });
    }
  });

  it('ships the declaration and its schemas in each package: the function reads them at cold start', () => {
    // Prepare
    const id = 'IngestLambdaFunction';
    const artifact = join(PACKAGE_DIR, basename(String(at(props(id), 'Code', 'S3Key'))));
    const dir = mkdtempSync(join(tmpdir(), 's3-csv-ingest-package-'));
    try {
      for (const entry of readZipEntries(artifact)) {
        mkdirSync(dirname(join(dir, entry.name)), { recursive: true });
        writeFileSync(join(dir, entry.name), entry.data());
      }
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'unused',
        AWS_SECRET_ACCESS_KEY: 'unused',
        AWS_LAMBDA_FUNCTION_NAME: resolve(props(id).FunctionName),
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      for (const [variable, value] of Object.entries(environment(id))) {
        env[variable] = resolve(value);
      }
      // Act: cold start in the package root, as Lambda runs it (/var/task is the working directory).
      const coldStart = (extra: Record<string, string>) =>
        spawnSync(
          process.execPath,
          ['--input-type=module', '-e', "await import('./src/handlers/ingest.mjs')"],
          { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8' },
        );
      const declared = coldStart({});
      const missing = coldStart({ DATASETS_FILE: 'schemas/missing.json' });

      // Assess
      expect(declared.status, declared.stderr).toBe(0);
      for (const { schema } of readDeclaration(DATASETS_FILE)) {
        expect(existsSync(join(dir, schema)), schema).toBe(true);
      }
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('DATASETS_FILE schemas/missing.json: cannot be read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points each handler at a bundled ES module, with its source map, inside its own package', () => {
    for (const [id] of functionsByLogicalId()) {
      // Prepare
      const handler = String(props(id).Handler);
      const match = /^(?<module>[\w/]+)\.(?<name>\w+)$/.exec(handler);
      const module = match?.groups?.module ?? '';
      const artifact = join(PACKAGE_DIR, basename(String(at(props(id), 'Code', 'S3Key'))));

      // Act
      const entries = readZipEntries(artifact).map((entry) => entry.name);

      // Assess
      expect(match, `${id} handler "${handler}"`).not.toBeNull();
      expect(existsSync(join(ROOT, `${module}.ts`)), `${module}.ts exists`).toBe(true);
      expect(entries).toContain(`${module}.mjs`);
      expect(entries).toContain(`${module}.mjs.map`);
    }
  });

  it('loads each bundle as an ES module that exports its handler, in the environment it gets', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 's3-csv-ingest-bundle-'));
    const saved = { ...process.env };
    try {
      for (const [id] of functionsByLogicalId()) {
        // Prepare
        const [module = '', name = ''] = String(props(id).Handler).split(/\.(?=\w+$)/);
        const artifact = join(PACKAGE_DIR, basename(String(at(props(id), 'Code', 'S3Key'))));
        const dir = join(workDir, id);
        for (const entry of readZipEntries(artifact)) {
          if (!entry.name.startsWith(`${module}.mjs`)) continue;
          mkdirSync(dirname(join(dir, entry.name)), { recursive: true });
          writeFileSync(join(dir, entry.name), entry.data());
        }
        for (const [variable, value] of Object.entries(environment(id))) {
          // Logging and metrics stay as the test run configures them.
          if (!variable.startsWith('POWERTOOLS_')) process.env[variable] = resolve(value);
        }
        process.env.AWS_REGION = 'us-east-1';
        process.env.AWS_LAMBDA_FUNCTION_NAME = resolve(props(id).FunctionName);

        // Act
        const loaded: Record<string, unknown> = await import(
          pathToFileURL(join(dir, `${module}.mjs`)).href
        );

        // Assess
        expect(typeof loaded[name], `${id} exports ${name}`).toBe('function');
      }
    } finally {
      for (const variable of Object.keys(process.env)) {
        if (!(variable in saved)) delete process.env[variable];
      }
      Object.assign(process.env, saved);
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('gives the ingest function 15 minutes and a full vCPU', () => {
    // Prepare
    const ingest = props('IngestLambdaFunction');

    // Assess
    expect(ingest.Timeout).toBe(900);
    expect(ingest.MemorySize).toBeGreaterThanOrEqual(1769);
  });
});

describe('Template: configuration', () => {
  it('wires resource names with Ref, never literals', () => {
    for (const [id] of functionsByLogicalId()) {
      // Prepare
      const env = environment(id);

      // Assess
      for (const [variable, target] of Object.entries(WIRED_VARIABLES)) {
        expect(env[variable], `${id} ${variable}`).toEqual(ref(target));
      }
    }
  });

  it('builds INBOUND_BUCKET with Fn::Sub from the name the bucket is created with', () => {
    // Prepare
    const bucketName = props('InboundBucket').BucketName;

    // Assess
    expect(Object.keys(isRecord(bucketName) ? bucketName : {})).toEqual(['Fn::Sub']);
    expect(inboundBucketName).toContain('<AWS::AccountId>');
    for (const [id] of functionsByLogicalId()) {
      expect(environment(id).INBOUND_BUCKET, id).toEqual(bucketName);
    }
  });

  it('leaves path-style addressing and endpoint overrides to local runs', () => {
    for (const [id] of functionsByLogicalId()) {
      const names = Object.keys(environment(id));
      expect(names, id).not.toContain('S3_FORCE_PATH_STYLE');
      expect(
        names.filter((name) => name.startsWith('AWS_ENDPOINT_URL')),
        id,
      ).toEqual([]);
    }
  });

  it('passes the check each function runs on its configuration at cold start', () => {
    for (const [id] of functionsByLogicalId()) {
      // Prepare
      const env = Object.fromEntries(
        Object.entries(environment(id)).map(([name, value]) => [name, resolve(value)]),
      );

      // Act
      const config = loadConfig(env);

      // Assess
      expect(config.inboundBucket, id).toMatch(/^s3-csv-ingest-ci-inbound-123456789012-us-east-1$/);
      expect(config.errorPolicy, id).toBe('skip');
      expect(env.POWERTOOLS_SERVICE_NAME, id).toBe('s3-csv-ingest');
      expect(env.POWERTOOLS_METRICS_NAMESPACE, id).toBeTruthy();
    }
  });

  it('contains no account id, region or partition literal', () => {
    // Prepare
    const text = readFileSync(TEMPLATE_PATH, 'utf8');

    // Assess
    expect(text).not.toMatch(/(?<![\d])\d{12}(?![\d])/);
    expect(text).not.toMatch(/"arn:aws[\w-]*:/);
    expect(text).not.toMatch(/\b(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b/);
  });
});

describe('Template: inbound notification', () => {
  it('invokes the ingest function for every created object: a suffix filter is case-sensitive', () => {
    // Prepare
    const configurations = asArray(
      at(props('InboundBucket'), 'NotificationConfiguration', 'LambdaConfigurations'),
    );

    // Assess: no filter, so Roster.Csv triggers too; the function picks the CSV files itself.
    expect(configurations).toEqual([
      { Event: 's3:ObjectCreated:*', Function: getAtt('IngestLambdaFunction', 'Arn') },
    ]);
  });

  it('lets only the inbound bucket of this account invoke the function', () => {
    // Prepare
    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
      ([, r]) => r.Properties?.Principal === 's3.amazonaws.com',
    );

    // Assess
    expect(permissions).toHaveLength(1);
    const [id, permission] = permissions[0] ?? ['', resource('IngestS3Permission')];
    expect(permission.Properties?.FunctionName).toEqual(getAtt('IngestLambdaFunction', 'Arn'));
    expect(permission.Properties?.SourceAccount).toEqual(ref('AWS::AccountId'));
    expect(render(permission.Properties?.SourceArn)).toBe(
      `arn:<AWS::Partition>:s3:::${inboundBucketName}`,
    );
    // S3 checks the target when the notification is set, so the permission must come first.
    expect(asArray(resource('InboundBucket').DependsOn)).toContain(id);
  });

  it('subscribes nothing to any other bucket, so moved files cannot trigger the function', () => {
    const notified = resourcesOfType('AWS::S3::Bucket')
      .filter(([, r]) => r.Properties?.NotificationConfiguration !== undefined)
      .map(([id]) => id);
    expect(notified).toEqual(['InboundBucket']);
  });
});

describe('Template: buckets', () => {
  const buckets = resourcesOfType('AWS::S3::Bucket');

  it('has the inbound, archive, error and deployment buckets', () => {
    expect(buckets.map(([id]) => id).sort()).toEqual([
      'ArchiveBucket',
      'ErrorBucket',
      'InboundBucket',
      'ServerlessDeploymentBucket',
    ]);
  });

  it('blocks all public access on every bucket', () => {
    for (const [id, bucket] of buckets) {
      expect(bucket.Properties?.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it('encrypts every bucket by default', () => {
    for (const [id, bucket] of buckets) {
      const rules = asArray(
        at(bucket.Properties, 'BucketEncryption', 'ServerSideEncryptionConfiguration'),
      );
      const algorithms = rules.map((rule) =>
        at(rule, 'ServerSideEncryptionByDefault', 'SSEAlgorithm'),
      );
      expect(algorithms.length, id).toBeGreaterThan(0);
      for (const algorithm of algorithms) {
        expect(['AES256', 'aws:kms', 'aws:kms:dsse'], id).toContain(algorithm);
      }
    }
  });

  it('denies every request that does not use TLS, on every bucket and its objects', () => {
    for (const [id] of buckets) {
      // Prepare
      const policies = resourcesOfType('AWS::S3::BucketPolicy').filter(
        ([, p]) => render(p.Properties?.Bucket) === `<${id}>`,
      );
      const denials = policies
        .flatMap(([, p]) => statementsOf(p.Properties?.PolicyDocument))
        .filter(
          (s) =>
            s.Effect === 'Deny' &&
            s.Principal === '*' &&
            s.Action.includes('s3:*') &&
            String(at(s.Condition, 'Bool', 'aws:SecureTransport')) === 'false',
        );
      const covered = denials.flatMap((s) => s.Resource.map(render));

      // Assess
      expect(denials.length, `${id} TLS-only policy`).toBeGreaterThan(0);
      expect(
        covered.some((r) => r.endsWith('/*')),
        `${id} objects`,
      ).toBe(true);
      expect(
        covered.some((r) => !r.endsWith('/*')),
        `${id} bucket`,
      ).toBe(true);
    }
  });

  it('versions the inbound bucket and expires versions it no longer needs', () => {
    // Prepare
    const inbound = props('InboundBucket');
    const rules = asArray(at(inbound, 'LifecycleConfiguration', 'Rules'));

    // Assess
    expect(at(inbound, 'VersioningConfiguration', 'Status')).toBe('Enabled');
    expect(rules.some((rule) => at(rule, 'NoncurrentVersionExpiration', 'NoncurrentDays'))).toBe(
      true,
    );
  });

  it('moves archived files to a cheaper storage class after some days', () => {
    // Prepare
    const rules = asArray(at(props('ArchiveBucket'), 'LifecycleConfiguration', 'Rules'));
    const transitions = rules.flatMap((rule) => asArray(at(rule, 'Transitions')));

    // Assess
    expect(transitions.length).toBeGreaterThan(0);
    for (const transition of transitions) {
      expect(['STANDARD_IA', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'GLACIER']).toContain(
        at(transition, 'StorageClass'),
      );
      expect(at(transition, 'TransitionInDays')).toBeGreaterThan(0);
    }
  });

  it('expires files in the error bucket', () => {
    const rules = asArray(at(props('ErrorBucket'), 'LifecycleConfiguration', 'Rules'));
    expect(rules.some((rule) => Number(at(rule, 'ExpirationInDays')) > 0)).toBe(true);
  });

  it('keeps every upload of a name in the archive and error buckets, as versions that expire', () => {
    for (const id of ['ArchiveBucket', 'ErrorBucket']) {
      // Prepare
      const bucket = props(id);
      const rules = asArray(at(bucket, 'LifecycleConfiguration', 'Rules'));
      const bucketWide = rules.filter((rule) => at(rule, 'Prefix') === undefined);

      // Assess
      expect(at(bucket, 'VersioningConfiguration', 'Status'), id).toBe('Enabled');
      expect(
        bucketWide.some(
          (rule) => Number(at(rule, 'NoncurrentVersionExpiration', 'NoncurrentDays')) >= 30,
        ),
        `${id}: noncurrent versions are kept a month or more`,
      ).toBe(true);
    }
  });

  it("expires a long file's leftover work in progress under _ingest/ within a week", () => {
    // Prepare
    const rules = asArray(at(props('ErrorBucket'), 'LifecycleConfiguration', 'Rules'));
    const work = rules.find((rule) => at(rule, 'Prefix') === '_ingest/');

    // Assess
    expect(Number(at(work, 'ExpirationInDays'))).toBeGreaterThan(0);
    expect(Number(at(work, 'ExpirationInDays'))).toBeLessThanOrEqual(7);
    expect(Number(at(work, 'NoncurrentVersionExpiration', 'NoncurrentDays'))).toBeGreaterThan(0);
  });
});

describe('Template: tables', () => {
  it('makes one table per declared dataset, keyed as its schema says, and maps each dataset to it', () => {
    for (const [id] of functionsByLogicalId()) {
      // Prepare: the datasets as the function reads them from its environment at cold start.
      const tables = datasetTables(id);
      const { list } = loadDatasets({ DATASET_TABLES: JSON.stringify(tables) });

      // Assess: every declared dataset has a table of this stack, each its own
      expect(list.map((d) => d.name).sort(), id).toEqual(Object.keys(tables).sort());
      expect(new Set(Object.values(tables)).size, id).toBe(list.length);
      for (const { name, dataset } of list) {
        const { partition, sort } = dataset.tableKey;
        const names = sort === undefined ? [partition] : [partition, sort];
        const typeOf = (column: string) =>
          dataset.columns.find((c) => c.name === column)?.type === 'string' ? 'S' : 'N';
        const table = props(tables[name] ?? '');
        expect(table.KeySchema, name).toEqual(
          names.map((column, i) => ({
            AttributeName: column,
            KeyType: i === 0 ? 'HASH' : 'RANGE',
          })),
        );
        expect(table.AttributeDefinitions, name).toEqual(
          names.map((column) => ({ AttributeName: column, AttributeType: typeOf(column) })),
        );
      }
    }
    // No other table holds records: the ledger is the one table not of a dataset.
    const datasetIds = Object.values(datasetTables('IngestLambdaFunction'));
    expect(
      resourcesOfType('AWS::DynamoDB::Table')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...datasetIds, 'LedgerTable'].sort());
  });

  it('keeps the logical id StudentTable for the students dataset, so a deployed stack keeps its table', () => {
    expect(datasetTables('IngestLambdaFunction').students).toBe('StudentTable');
  });

  it('has a dataset with a string key and one with a string + number key', () => {
    const keyTypes = Object.values(datasetTables('IngestLambdaFunction')).map((id) =>
      asArray(props(id).AttributeDefinitions)
        .map((d) => at(d, 'AttributeType'))
        .join('+'),
    );
    expect(keyTypes).toContain('S+S');
    expect(keyTypes).toContain('S+N');
  });

  for (const id of Object.values(datasetTables('IngestLambdaFunction'))) {
    it(`bills ${id} on demand, with point-in-time recovery and the stage's deletion protection`, () => {
      const table = props(id);
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(at(table, 'PointInTimeRecoverySpecification', 'PointInTimeRecoveryEnabled')).toBe(
        true,
      );
      expect(table.DeletionProtectionEnabled).toBe(false);
      expect(resource(id)).toMatchObject({
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Retain',
      });
    });
  }

  it('keys the ledger by id and expires its records through TTL on expiration', () => {
    const ledger = props('LedgerTable');
    expect(ledger.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(ledger.BillingMode).toBe('PAY_PER_REQUEST');
    expect(ledger.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
  });
});

describe('Template: IAM', () => {
  it('allows no wildcard resource, except for actions AWS cannot scope', () => {
    const offending = identityStatements().filter(
      ({ statement }) =>
        statement.Effect === 'Allow' &&
        statement.Resource.some((r) => render(r) === '*') &&
        !statement.Action.every((action) => ACTIONS_WITHOUT_RESOURCE_SCOPE.has(action)),
    );
    expect(offending).toEqual([]);
  });

  it('allows no wildcard action', () => {
    const offending = identityStatements().filter(
      ({ statement }) =>
        statement.Effect === 'Allow' && statement.Action.some((action) => action.includes('*')),
    );
    expect(offending).toEqual([]);
  });

  it('gives each function a role of its own', () => {
    const roles = functionsByLogicalId().map(([id]) => roleOf(id));
    expect(new Set(roles).size).toBe(roles.length);
  });

  it('never lets a function write into the inbound bucket, which would trigger it again', () => {
    for (const [id] of functionsByLogicalId()) {
      const writable = allowedResources(roleOf(id), 's3:PutObject');
      expect(writable.length, id).toBeGreaterThan(0);
      expect(
        writable.filter((r) => r.includes(inboundBucketName)),
        id,
      ).toEqual([]);
    }
  });

  it('lets the ingest function delete uploads in the inbound bucket and its own work in progress only', () => {
    // Prepare
    const role = roleOf('IngestLambdaFunction');
    const inboundObjects = `arn:<AWS::Partition>:s3:::${inboundBucketName}/*`;

    // Assess
    for (const action of ['s3:GetObject', 's3:GetObjectVersion']) {
      expect(allowedResources(role, action), action).toContain(inboundObjects);
    }
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion']) {
      expect(allowedResources(role, action).sort(), action).toEqual([
        '<ErrorBucket.Arn>/_ingest/*',
        inboundObjects,
      ]);
    }
    // A copy is verified by HeadObject of the version it wrote.
    for (const bucket of ['<ArchiveBucket.Arn>/*', '<ErrorBucket.Arn>/*']) {
      expect(allowedResources(role, 's3:GetObjectVersion'), bucket).toContain(bucket);
    }
    expect(allowedResources(role, 's3:PutObject').sort()).toEqual([
      '<ArchiveBucket.Arn>/*',
      '<ErrorBucket.Arn>/*',
    ]);
  });

  it('lets the ingest function write its table, ledger and topic, and invoke only itself', () => {
    // Prepare
    const role = roleOf('IngestLambdaFunction');
    const name = render(props('IngestLambdaFunction').FunctionName);

    // Assess
    expect(allowedResources(role, 'dynamodb:BatchWriteItem').sort()).toEqual(datasetTableArns());
    for (const action of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']) {
      expect(allowedResources(role, `dynamodb:${action}`), action).toEqual(['<LedgerTable.Arn>']);
    }
    expect(allowedResources(role, 'sns:Publish')).toEqual(['<SummaryTopic>']);
    expect(allowedResources(role, 'lambda:InvokeFunction')).toEqual([
      `arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${name}`,
    ]);
    expect(allowedResources(role, 'logs:PutLogEvents')).toEqual(['<IngestLogGroup.Arn>']);
  });

  it("lets each function write records into exactly the datasets' tables", () => {
    for (const [id] of functionsByLogicalId()) {
      expect(allowedResources(roleOf(id), 'dynamodb:BatchWriteItem').sort(), id).toEqual(
        datasetTableArns(),
      );
    }
  });

  it('trusts only S3 Batch Operations with the job role, which may invoke only the batch function', () => {
    // Prepare
    const trust = statementsOf(props('BatchJobRole').AssumeRolePolicyDocument);

    // Assess
    expect(trust.map((s) => s.Principal)).toEqual([
      { Service: 'batchoperations.s3.amazonaws.com' },
    ]);
    expect(allowedResources('BatchJobRole', 'lambda:InvokeFunction')).toEqual([
      '<BatchOperationsLambdaFunction.Arn>',
    ]);
    expect(allowedResources('BatchJobRole', 's3:PutObject')).toEqual([
      '<ArchiveBucket.Arn>/batch-reports/*',
    ]);
  });
});

describe('Template: notifications, failures and alarms', () => {
  it('encrypts every topic', () => {
    const topics = resourcesOfType('AWS::SNS::Topic');
    expect(topics.length).toBeGreaterThanOrEqual(2);
    for (const [id, topic] of topics) {
      expect(topic.Properties?.KmsMasterKeyId, id).toBeTruthy();
    }
  });

  it('subscribes the notifyEmail address to the summary topic only when one is given', () => {
    // Prepare
    const subscription = resource('SummaryEmailSubscription');
    const endpoint = at(subscription.Properties, 'Endpoint', 'Ref');
    const condition = template.Conditions?.[subscription.Condition ?? ''];

    // Assess
    expect(subscription.Properties?.TopicArn).toEqual(ref('SummaryTopic'));
    expect(subscription.Properties?.Protocol).toBe('email');
    expect(typeof endpoint).toBe('string');
    expect(condition).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: endpoint }, ''] }] });
    expect(template.Parameters?.[String(endpoint)]?.Default).toBe('');
  });

  it('sends failed asynchronous invocations of both functions to an encrypted dead-letter queue', () => {
    // Prepare: S3 events invoke ingest asynchronously; long files continue asynchronously in both.
    const queue = props('DeadLetterQueue');
    expect(queue.SqsManagedSseEnabled === true || queue.KmsMasterKeyId !== undefined).toBe(true);

    for (const [id] of functionsByLogicalId()) {
      const invokeConfig = resourcesOfType('AWS::Lambda::EventInvokeConfig').find(
        ([, r]) => render(r.Properties?.FunctionName) === `<${id}>`,
      );

      // Assess
      expect(
        at(invokeConfig?.[1].Properties, 'DestinationConfig', 'OnFailure', 'Destination'),
        id,
      ).toEqual(getAtt('DeadLetterQueue', 'Arn'));
      expect(at(invokeConfig?.[1].Properties, 'MaximumRetryAttempts'), id).toBe(2);
      expect(allowedResources(roleOf(id), 'sqs:SendMessage'), id).toEqual([
        '<DeadLetterQueue.Arn>',
      ]);
    }
  });

  it('alarms on function errors, throttles and dead letters, to the operators topic', () => {
    // Prepare
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
    const watched = (namespace: string, metric: string, dimension: unknown) =>
      alarms.filter(
        (a) =>
          a.Namespace === namespace &&
          a.MetricName === metric &&
          asArray(a.Dimensions).some(
            (d) => JSON.stringify(at(d, 'Value')) === JSON.stringify(dimension),
          ),
      );
    const required = [
      watched('AWS/Lambda', 'Errors', ref('IngestLambdaFunction')),
      watched('AWS/Lambda', 'Throttles', ref('IngestLambdaFunction')),
      watched(
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        getAtt('DeadLetterQueue', 'QueueName'),
      ),
    ];

    // Assess
    for (const found of required) {
      expect(found).toHaveLength(1);
      expect(at(found[0], 'AlarmActions')).toEqual([ref('OperatorsTopic')]);
    }
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([ref('OperatorsTopic')]);
    }
  });

  it('lets CloudWatch alarms use the key of the operators topic', () => {
    // Prepare
    const key = render(props('OperatorsTopic').KmsMasterKeyId);
    const statements = statementsOf(props(key.slice(1, -1)).KeyPolicy);

    // Assess
    expect(
      statements.some(
        (s) =>
          s.Effect === 'Allow' &&
          JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }) &&
          s.Action.includes('kms:Decrypt') &&
          s.Action.includes('kms:GenerateDataKey*'),
      ),
    ).toBe(true);
  });
});

describe('Template: outputs', () => {
  it('outputs the buckets, tables, topics, functions and the batch job role', () => {
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining([
        'InboundBucketName',
        'ArchiveBucketName',
        'ErrorBucketName',
        'StudentTableName',
        'LedgerTableName',
        'SummaryTopicArn',
        'OperatorsTopicArn',
        'IngestFunctionName',
        'IngestFunctionArn',
        'BatchOperationsFunctionName',
        'BatchOperationsFunctionArn',
        'BatchJobRoleArn',
      ]),
    );
  });
});
