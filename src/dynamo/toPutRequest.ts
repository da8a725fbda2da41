import type { AttributeValue, WriteRequest } from '@aws-sdk/client-dynamodb';
import type { StudentRecord } from '../types.ts';

/** The canonical form of a put's item, to tell which items UnprocessedItems hands back. */
export function itemIdentity(item: Record<string, AttributeValue> | undefined): string {
  const names = Object.keys(item ?? {}).sort();
  return JSON.stringify(names.map((name) => [name, item?.[name]]));
}

/**
 * A record's values as DynamoDB attribute values, built directly (no generic marshalling): the
 * schema's types decide them, strings S, integers and numbers N, booleans BOOL. A record of
 * strings (the student schema) takes the first branch only.
 */
export function toPutRequest(item: StudentRecord): WriteRequest {
  const marshalled: Record<string, AttributeValue> = {};
  for (const name in item) {
    const value = item[name];
    if (typeof value === 'string') marshalled[name] = { S: value };
    else if (typeof value === 'number') marshalled[name] = { N: String(value) };
    else if (typeof value === 'boolean') marshalled[name] = { BOOL: value };
  }
  return { PutRequest: { Item: marshalled } };
}
