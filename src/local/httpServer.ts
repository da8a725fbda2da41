import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts a local stand-in's server and returns its base URL (port 0: a free port). */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

/** Stops a server now: keep-alive connections from SDK clients would otherwise hold it open. */
export async function close(server: Server | null): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
