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
