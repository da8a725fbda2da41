import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { clipValue } from '../bounds.ts';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { IngestResult, StoredObject } from '../types.ts';
import { buildSummary } from './buildSummary.ts';

/** SNS rejects a message over 256 KiB: the JSON document with every protocol's part counts. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** What SNS accepts as a Subject: printable ASCII, under 100 characters. */
const VALID_SUBJECT = /^[\x20-\x7e]{1,99}$/;

const clipLocation = <T extends StoredObject | null>(location: T, max: number): T =>
  location && { ...location, key: clipValue(location.key, max) };

/** The same outcome with its strings cut to `max` characters and no list of problems. */
function shrink(result: IngestResult, max: number): IngestResult {
  return {
    ...result,
    source: clipLocation(result.source, max),
    destination: clipLocation(result.destination, max),
    report: clipLocation(result.report, max),
    errors: [],
    fileError: result.fileError && {
      code: result.fileError.code,
      message: clipValue(result.fileError.message, max),
    },
  };
}

/**
 * The summary as SNS will take it. Strings from the data are bounded where they are made, so the
 * full summary fits; this is the last guard: rather a shorter summary than none.
 */
function withinLimits(result: IngestResult): { subject: string; message: string } {
  let summary = buildSummary(result);
  for (const max of [1_000, 200]) {
    if (Buffer.byteLength(summary.message) < MAX_MESSAGE_BYTES) break;
    summary = buildSummary(shrink(result, max));
  }
  const subject = VALID_SUBJECT.test(summary.subject)
    ? summary.subject
    : `[${result.status}] summary of one file`;
  return { subject, message: summary.message };
}

/** Publishes the one summary of a processed file to the topic subscribers read. */
export async function publishSummary(
  sns: SNSClient,
  topicArn: string,
  result: IngestResult,
): Promise<string | undefined> {
  const { subject, message } = withinLimits(result);
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
