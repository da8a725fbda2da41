import type { ErrorPolicy } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { IngestOptions } from '../pipeline/context.ts';

const BOOLEANS: Record<string, boolean> = { true: true, false: false };
const POLICIES: readonly ErrorPolicy[] = ['skip', 'strict'];
const KNOWN = ['move', 'notify', 'policy'] as const;

/**
 * Turns a job's userArguments (string values, as S3 passes them) into pipeline options. The
 * defaults suit a backfill: files stay where they are and nobody gets one e-mail per object.
 * Throws a ConfigError naming every unknown argument and bad value, so a typo in the job fails
 * each task with the reason instead of silently running with defaults.
 */
export function parseUserArguments(
  args: Record<string, unknown>,
  defaults: { errorPolicy: ErrorPolicy },
): IngestOptions {
  const problems: string[] = [];
  const unknown = Object.keys(args).filter((name) => !(KNOWN as readonly string[]).includes(name));
  if (unknown.length > 0) {
    problems.push(
      `unknown argument${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')} (expected ${KNOWN.join(', ')})`,
    );
  }

  const flag = (name: 'move' | 'notify'): boolean => {
    const value = args[name];
    if (value === undefined) return false;
    const parsed = typeof value === 'string' ? BOOLEANS[value] : undefined;
    if (parsed === undefined)
      problems.push(`"${name}" must be "true" or "false", got ${JSON.stringify(value)}`);
    return parsed ?? false;
  };
  const move = flag('move');
  const notify = flag('notify');

  let errorPolicy = defaults.errorPolicy;
  const policy = args.policy;
  if (policy !== undefined) {
    if (POLICIES.includes(policy as ErrorPolicy)) errorPolicy = policy as ErrorPolicy;
    else problems.push(`"policy" must be "skip" or "strict", got ${JSON.stringify(policy)}`);
  }

  if (problems.length > 0) throw new ConfigError(`Invalid userArguments: ${problems.join('; ')}`);
  return { move, notify, errorPolicy };
}
