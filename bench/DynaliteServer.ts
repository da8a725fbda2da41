import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LOCAL_CREDENTIALS, studentTable } from '../src/local/LocalStack.ts';

/** A fresh, empty dynalite with the students table, so every run writes into the same state. */
export class DynaliteServer {
  public url = '';
  private readonly server: Server = dynalite({ createTableMs: 0 });

  public static async start(table: string, host = '127.0.0.1'): Promise<DynaliteServer> {
    const instance = new DynaliteServer();
    await new Promise<void>((resolve) => instance.server.listen(0, host, resolve));
    instance.url = `http://${host}:${(instance.server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({
      endpoint: instance.url,
      region: 'us-east-1',
      credentials: {
        accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
    try {
      await client.send(new CreateTableCommand(studentTable(table)));
    } finally {
      client.destroy();
    }
    return instance;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
