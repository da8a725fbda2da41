import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { type Handler, useLocalStack } from '../support/harness.ts';
import { continuationsSince, rowBudget } from '../support/longFiles.ts';

const local = useLocalStack();

/** 600 distinct keys, then row 601 repeats the first row's key with other names. */
function repeatedLater(tag: string): string {
  const lines = ['student_id,first_name,last_name,course'];
  for (let i = 0; i < 600; i++)
    lines.push(`R${String(i).padStart(5, '0')},First${i},Last${i},${tag}`);
  lines.push(`R00000,Again,Later,${tag}`);
  return `${lines.join('\n')}\n`;
}

/** Runs an event and every continuation it hands on; returns how many parts ran. */
async function drive(handler: Handler, event: S3Event): Promise<number> {
  const seen = local.stack.lambda.invocations.length;
  await handler(structuredClone(event), rowBudget(1));
  let parts = 1;
  for (;;) {
    const next = continuationsSince(local.stack.lambda, seen)[parts - 1];
    if (!next) return parts;
    parts++;
    await handler(next, rowBudget(1));
  }
}

const tableFor = (course: string) => local.items((item) => item.course === course);

describe('Duplicates across the parts of a long file', () => {
  it.each([
    ['skip', 'cross/skip.csv', 'Cross skip'],
    ['strict', 'cross/strict.csv', 'Cross strict'],
  ])(
    'counts a key repeated in a later part as a duplicate (%s policy)',
    async (policy, key, course) => {
      // Prepare
      const event = await local.upload(key, repeatedLater(course));

      // Act
      const parts = await drive(local.handler({ env: { ERROR_POLICY: policy } }), event);

      // Assess: exact counts for the whole file; the later row won; the key sets are gone.
      expect(parts).toBeGreaterThanOrEqual(3);
      expect(local.summariesFor(key)[0]).toMatchObject({
        status: 'SUCCEEDED',
        rows: { total: 601, written: 600, rejected: 0, duplicates: 1 },
      });
      const rows = await tableFor(course);
      expect(rows).toHaveLength(600);
      expect(rows.find((r) => r.student_id === 'R00000')).toMatchObject({ first_name: 'Again' });
      const left = await local.s3.send(
        new ListObjectsV2Command({ Bucket: local.stack.names.error, Prefix: '_ingest/keys/' }),
      );
      expect(left.Contents ?? []).toEqual([]);
    },
    120_000,
  );
});
