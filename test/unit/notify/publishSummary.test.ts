import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../../src/errors.ts';
import { buildSummary } from '../../../src/notify/buildSummary.ts';
import { publishSummary } from '../../../src/notify/publishSummary.ts';
import type { IngestResult } from '../../../src/types.ts';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:ingest-summaries';
const snsMock = mockClient(SNSClient);
const sns = new SNSClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

const result: IngestResult = {
  status: 'SUCCEEDED',
  source: { bucket: 'inbound', key: 'students.csv' },
  destination: { bucket: 'archive', key: 'students.csv' },
  report: null,
  rows: { total: 2, written: 2, rejected: 0, duplicates: 0 },
  errors: [],
  fileError: null,
  durationMs: 10,
};

describe('Function: publishSummary', () => {
  beforeEach(() => {
    snsMock.reset();
  });

  afterAll(() => {
    snsMock.restore();
  });

  it('publishes the summary once, with its subject, as MessageStructure json', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const { subject, message } = buildSummary(result);

    // Act
    const id = await publishSummary(sns, TOPIC, result);

    // Assess
    expect(id).toBe('m-1');
    const calls = snsMock.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      TopicArn: TOPIC,
      Subject: subject,
      Message: message,
      MessageStructure: 'json',
    });
  });

  it("keeps every message under SNS's 256 KB and every subject under 100 characters, whatever the outcome holds", async () => {
    // Prepare: strings far larger than anything the pipeline makes, as a last guard
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const key = `${'k\n'.repeat(300)}${'ü'.repeat(300)}.csv`;
    const huge: IngestResult = {
      ...result,
      status: 'FAILED',
      source: { bucket: 'inbound', key },
      destination: { bucket: 'errors', key },
      report: { bucket: 'errors', key },
      rows: { total: 10, written: 0, rejected: 10, duplicates: 0 },
      errors: Array.from({ length: 10 }, (_, i) => ({
        line: i + 2,
        field: 'student_id',
        error: `student_id ${'"\u0001'.repeat(20_000)}`,
        code: 'SCHEMA' as const,
      })),
      fileError: { code: 'INVALID_HEADER', message: `unknown ${'"x\n", '.repeat(100_000)}` },
    };

    // Act
    await publishSummary(sns, TOPIC, huge);

    // Assess
    const input = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    const message = input?.Message ?? '';
    expect(Buffer.byteLength(message)).toBeLessThan(256 * 1024);
    const parts = JSON.parse(message) as Record<string, string>;
    for (const part of Object.values(parts))
      expect(Buffer.byteLength(part)).toBeLessThan(256 * 1024);
    const json = JSON.parse(parts.sqs ?? '{}');
    expect(json.status).toBe('FAILED');
    expect(json.rows).toEqual(huge.rows);
    expect(json.fileError.code).toBe('INVALID_HEADER');
    expect(parts.email).toContain('Status: FAILED');
    expect(input?.Subject).toMatch(/^[\x20-\x7e]{1,99}$/);
  });

  it('throws an InfrastructureError with the cause when SNS fails', async () => {
    // Prepare
    const cause = Object.assign(new Error('Service Unavailable'), {
      name: 'InternalErrorException',
      $metadata: { httpStatusCode: 500 },
    });
    snsMock.on(PublishCommand).rejects(cause);

    // Act
    const error = await publishSummary(sns, TOPIC, result).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).cause).toBe(cause);
    expect((error as InfrastructureError).transient).toBe(true);
    expect((error as Error).message).toContain(TOPIC);
  });
});
