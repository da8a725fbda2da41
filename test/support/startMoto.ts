import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where to get moto_server when it is missing: it is a Python tool, not an npm package. */
export const MOTO_INSTALL_HINT = `pip install 'moto[server]'`;

/** The absolute path of an executable on PATH, or null. */
export function findOnPath(command: string): string | null {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('Could not pick a free port');
  return address.port;
}

export interface Moto {
  endpoint: string;
  /** Stops moto_server and everything it started; safe to call twice. */
  stop: () => Promise<void>;
}

/** Kills the whole process group (moto_server may sit behind a wrapper such as a pyenv shim). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `moto_server` on a free port and resolves once it answers. It runs in its own process
 * group, which stop() kills; so does this process's exit, and where util-linux's setpriv exists
 * the kernel kills it too if this process dies without running any hook (no orphan either way).
 */
export async function startMoto(
  options: { host?: string; startTimeoutMs?: number } = {},
): Promise<Moto> {
  const executable = findOnPath('moto_server');
  if (!executable) {
    throw new Error(
      `moto_server is not on PATH: install it with ${MOTO_INSTALL_HINT}. The moto integration suite needs it (it is skipped only outside CI).`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host);
  const args = ['-H', host, '-p', String(port)];
  const setpriv = findOnPath('setpriv');
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'TERM', executable, ...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(executable, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

  // moto logs every request: keep reading (a full pipe would block it) but keep only the tail.
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const failed: { error?: Error } = {};
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // A spawn failure may never emit 'exit'.
    child.once('error', (error) => {
      failed.error = error;
      resolve();
    });
  });
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.removeListener('exit', onExit);
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };

  const endpoint = `http://${host}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (failed.error || child.exitCode !== null || child.signalCode !== null) break;
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(
    `moto_server did not answer on ${endpoint}${failed.error ? `: ${failed.error.message}` : ''}\n${tail.join('\n')}`,
  );
}
