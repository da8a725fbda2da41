import { describe, expect, it } from 'vitest';
import { handOverProblem } from '../../../src/pipeline/handOver.ts';

describe('Function: handOverProblem', () => {
  it('lets a part hand on when it advanced and the part limit is not reached', () => {
    // Act
    const problem = handOverProblem({ part: 3, offset: 1_000 }, { offset: 2_000, line: 40 }, 10);

    // Assess
    expect(problem).toBeNull();
  });

  it.each([
    ['where it started', 1_000],
    ['before where it started', 500],
  ])('ends the file with NO_PROGRESS when a part stops %s', (_, offset) => {
    // Act
    const problem = handOverProblem({ part: 3, offset: 1_000 }, { offset, line: 40 }, 10);

    // Assess
    expect(problem).toMatchObject({ name: 'FileProblem', code: 'NO_PROGRESS', line: 40 });
    expect(problem?.message).toMatch(/^Part 3 stopped at byte \d+ without reading past byte 1000/);
  });

  it('ends the file with TOO_MANY_PARTS instead of starting part MAX_PARTS + 1', () => {
    // Act
    const last = handOverProblem({ part: 8, offset: 0 }, { offset: 10, line: 2 }, 10);
    const over = handOverProblem({ part: 9, offset: 0 }, { offset: 10, line: 2 }, 10);

    // Assess
    expect(last).toBeNull();
    expect(over).toMatchObject({ code: 'TOO_MANY_PARTS', line: 2 });
    expect(over?.message).toContain('MAX_PARTS (10)');
  });

  it('counts reading new rows or getting writes acknowledged as progress, and a part that did neither as none', () => {
    // Prepare: the previous part resumed at byte 1,000 and had read to byte 3,000
    const state = { part: 3, offset: 1_000, replayThrough: { offset: 3_000, line: 60 } };

    // Act
    const readOn = handOverProblem(state, { offset: 4_000, line: 80 }, 10, {
      offset: 1_000,
      line: 20,
    });
    const acknowledged = handOverProblem(state, { offset: 2_000, line: 40 }, 10, {
      offset: 1_500,
      line: 30,
    });
    const neither = handOverProblem(state, { offset: 2_000, line: 40 }, 10, {
      offset: 1_000,
      line: 20,
    });

    // Assess
    expect(readOn).toBeNull();
    expect(acknowledged).toBeNull();
    expect(neither).toMatchObject({ code: 'NO_PROGRESS', line: 40 });
    expect(neither?.message).toMatch(/without reading past byte 3000/);
  });
});
