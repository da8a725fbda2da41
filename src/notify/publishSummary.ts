import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { IngestResult } from '../types.ts';
import { buildSummary } from './buildSummary.ts';

/** Publishes the one summary of a processed file to the topic subscribers read. */
export async function publishSummary(
  sns: SNSClient,
  topicArn: string,
  result: IngestResult,
): Promise<string | undefined> {
  const { subject, message } = buildSummary(result);
  try {
    const out = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject,
        Message: message,
        MessageStructure: 'json',
      }),
    );
    return out.MessageId;
  } catch (error) {
    throw new InfrastructureError(
      `Publishing the summary to ${topicArn} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
