import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { metrics, recordWrites } from '../../src/observability.ts';

describe('Function: recordWrites', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('adds the throttled calls and the write rate of a part as EMF metrics', () => {
    // Prepare
    const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);

    // Act
    recordWrites({ calls: 40, throttled: 10, rejected: 2, itemsWritten: 500 }, 2_000);

    // Assess
    expect(added.mock.calls).toEqual([
      ['WriteCalls', MetricUnit.Count, 40],
      ['ThrottledWriteCalls', MetricUnit.Count, 10],
      ['RejectedWriteCalls', MetricUnit.Count, 2],
      ['WriteRate', MetricUnit.CountPerSecond, 250],
    ]);
  });

  it('adds nothing for a part that wrote nothing (the strict policy’s first pass)', () => {
    // Prepare
    const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);

    // Act
    recordWrites({ calls: 0, throttled: 0, rejected: 0, itemsWritten: 0 }, 2_000);

    // Assess
    expect(added).not.toHaveBeenCalled();
  });
});
