import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { stageNameProblem } = createRequire(import.meta.url)(
  '../../scripts/check-stage-name.cjs',
) as {
  stageNameProblem: (service: string, stage: string, region: string) => string | null;
};

describe('Packaging: the stage name', () => {
  it('accepts stage names that make valid bucket names', () => {
    for (const stage of ['dev', 'prod', 'ci', 'team-a', 'pr1234', 'x'.repeat(18)]) {
      expect(stageNameProblem('s3-csv-ingest', stage, 'us-east-1'), stage).toBeNull();
    }
  });

  it('names the limit for a stage too long for the bucket names of its region', () => {
    // 63 = 's3-csv-ingest-' + stage + '-inbound-' + 12 digits + '-' + region
    expect(stageNameProblem('s3-csv-ingest', 'x'.repeat(19), 'us-east-1')).toMatch(
      /19 characters; in us-east-1 it may have at most 18/,
    );
    expect(stageNameProblem('s3-csv-ingest', 'x'.repeat(14), 'ap-southeast-2')).toMatch(
      /at most 13/,
    );
  });

  it('refuses upper case and characters S3 bucket names do not allow', () => {
    for (const stage of ['Prod', 'dev_1', 'dev.1', '-dev', 'dev-', 'é']) {
      expect(stageNameProblem('s3-csv-ingest', stage, 'us-east-1'), stage).toMatch(
        /lowercase letters, digits and hyphens/,
      );
    }
  });

  it('stops `osls package` before anything is built, with that message', () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 's3-csv-ingest-stage-'));
    try {
      // Act
      const run = spawnSync(
        'npx',
        ['--no-install', 'osls', 'package', '--stage', 'Prod', '--package', out],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: 'offline-packaging',
            AWS_SECRET_ACCESS_KEY: 'offline-packaging',
            AWS_REGION: 'us-east-1',
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
            SLS_TELEMETRY_DISABLED: '1',
            SLS_NOTIFICATIONS_MODE: 'off',
          },
        },
      );

      // Assess
      expect(run.status).not.toBe(0);
      expect(`${run.stdout}${run.stderr}`).toContain('The stage name "Prod" cannot be used');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
