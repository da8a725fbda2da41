import { describe, expect, it } from 'vitest';
import { RECURSION_LIMIT } from '../../src/local/LambdaStandIn.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';
import { type Handler, useLocalStack } from '../support/harness.ts';
import { rowBudget, taggedCsv } from '../support/longFiles.ts';

let handler: Handler | null = null;
const local = useLocalStack({
  // The stand-in runs each continuation as Lambda's async queue does, 256 rows a part.
  onInvoke: (_name, payload) => handler?.(JSON.parse(payload), rowBudget(1)),
});

async function useHandler(env: Record<string, string> = {}): Promise<Handler> {
  handler = local.handler({ env });
  return handler;
}

const partsOf = (key: string, list: { payload: string }[]): ContinuationEvent[] =>
  list
    .map((i): unknown => JSON.parse(i.payload))
    .filter((e): e is ContinuationEvent => isContinuationEvent(e) && e.upload.key === key);

/** 6,000 rows: more than 20 parts of 256 rows. */
const LONG = taggedCsv(6_000, 'loop', 1_000);

describe('Long files and Lambda recursive loop detection', () => {
  it(`drops part ${RECURSION_LIMIT + 1} of a long file under Terminate (what Lambda does)`, async () => {
    // Prepare
    local.stack.lambda.recursiveLoop = 'Terminate';
    const run = await useHandler();
    const event = await local.upload('loop/terminate.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await local.stack.lambda.settled();

    // Assess: parts 1–16 ran, part 17 was dropped: the file is stuck half loaded.
    expect(
      partsOf('loop/terminate.csv', local.stack.lambda.invocations).map((e) => e.part),
    ).toEqual(Array.from({ length: RECURSION_LIMIT }, (_, i) => i + 1));
    expect(partsOf('loop/terminate.csv', local.stack.lambda.dropped).map((e) => e.part)).toEqual([
      RECURSION_LIMIT + 1,
    ]);
    expect(local.summariesFor('loop/terminate.csv')).toEqual([]);
    expect(await local.exists(local.stack.names.inbound, 'loop/terminate.csv')).toBe(true);
  }, 120_000);

  it('finishes a file of more than 20 parts under Allow (as deployed)', async () => {
    // Prepare
    local.stack.lambda.recursiveLoop = 'Allow';
    const run = await useHandler();
    const event = await local.upload('loop/allow.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await local.stack.lambda.settled();

    // Assess
    expect(partsOf('loop/allow.csv', local.stack.lambda.invocations).length).toBeGreaterThan(20);
    expect(partsOf('loop/allow.csv', local.stack.lambda.dropped)).toEqual([]);
    expect(local.summariesFor('loop/allow.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 6_000, written: 5_994, rejected: 6, duplicates: 0 },
      }),
    ]);
    expect(await local.exists(local.stack.names.inbound, 'loop/allow.csv')).toBe(false);
  }, 120_000);

  it('ends a file that needs more than MAX_PARTS parts with a file error, never looping on', async () => {
    // Prepare
    local.stack.lambda.recursiveLoop = 'Allow';
    const run = await useHandler({ MAX_PARTS: '5' });
    const event = await local.upload('loop/limit.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await local.stack.lambda.settled();

    // Assess: parts 0–4 ran; the file is in the error bucket with a summary that says why.
    expect(partsOf('loop/limit.csv', local.stack.lambda.invocations).map((e) => e.part)).toEqual([
      1, 2, 3, 4,
    ]);
    const [summary] = local.summariesFor('loop/limit.csv');
    expect(summary).toMatchObject({
      status: 'FAILED',
      fileError: { code: 'TOO_MANY_PARTS', message: expect.stringMatching(/MAX_PARTS \(5\)/) },
      destination: { bucket: local.stack.names.error, key: 'loop/limit.csv' },
    });
    expect(await local.exists(local.stack.names.inbound, 'loop/limit.csv')).toBe(false);
  }, 120_000);
});
