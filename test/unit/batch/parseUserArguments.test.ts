import { describe, expect, it } from 'vitest';
import { parseUserArguments } from '../../../src/batch/parseUserArguments.ts';
import { ConfigError } from '../../../src/errors.ts';

const defaults = { errorPolicy: 'skip' as const };

describe('Function: parseUserArguments', () => {
  it('defaults to leaving files in place, no summaries, and the configured policy', () => {
    expect(parseUserArguments({}, defaults)).toEqual({
      move: false,
      notify: false,
      errorPolicy: 'skip',
    });
    expect(parseUserArguments({}, { errorPolicy: 'strict' }).errorPolicy).toBe('strict');
  });

  it('reads "true"/"false" strings and the policy', () => {
    expect(
      parseUserArguments({ move: 'true', notify: 'false', policy: 'strict' }, defaults),
    ).toEqual({ move: true, notify: false, errorPolicy: 'strict' });
    expect(parseUserArguments({ move: 'false', notify: 'true' }, defaults)).toEqual({
      move: false,
      notify: true,
      errorPolicy: 'skip',
    });
  });

  it('rejects unknown arguments, naming each', () => {
    const act = () => parseUserArguments({ mvoe: 'true', dryRun: 'true', move: 'true' }, defaults);

    expect(act).toThrow(ConfigError);
    expect(act).toThrow('unknown arguments "mvoe", "dryRun" (expected move, notify, policy)');
  });

  it.each([
    [{ move: 'yes' }, '"move" must be "true" or "false", got "yes"'],
    [{ notify: 'TRUE' }, '"notify" must be "true" or "false", got "TRUE"'],
    [{ move: true }, '"move" must be "true" or "false", got true'],
    [{ policy: 'lenient' }, '"policy" must be "skip" or "strict", got "lenient"'],
  ])('rejects a bad value %o', (args, message) => {
    expect(() => parseUserArguments(args, defaults)).toThrow(message);
  });

  it('reports every problem at once', () => {
    expect(() => parseUserArguments({ extra: '1', move: '1', policy: 'x' }, defaults)).toThrow(
      'Invalid userArguments: unknown argument "extra" (expected move, notify, policy); "move" must be "true" or "false", got "1"; "policy" must be "skip" or "strict", got "x"',
    );
  });
});
