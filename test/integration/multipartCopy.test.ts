import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { LOCAL_CREDENTIALS, LocalStack } from '../../src/local/LocalStack.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';
import { findOnPath, MOTO_INSTALL_HINT, type Moto, startMoto } from '../support/startMoto.ts';

/*
 * Multipart copy (UploadPartCopy) against moto_server, which implements it (s3rver does not).
 * DynamoDB and SNS stay on the embedded stack.
 */
const motoMissing = findOnPath('moto_server') === null;
if (motoMissing && process.env.CI !== 'true') {
  console.warn(
    `Skipping test/integration/multipartCopy.test.ts: moto_server is not on PATH (${MOTO_INSTALL_HINT}).`,
  );
}

const MIB = 1024 ** 2;
const BUCKETS = { inbound: 'mp-inbound', archive: 'mp-archive', error: 'mp-errors' };
let moto: Moto | undefined;
let stack: LocalStack | undefined;
let s3: S3Client;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(motoMissing && process.env.CI !== 'true')(
  'Function: copyObject (multipart, via the pipeline)',
  () => {
    beforeAll(async () => {
      [moto, stack] = await Promise.all([startMoto(), LocalStack.start()]);
      Object.assign(process.env, stack.env, { AWS_ENDPOINT_URL_S3: moto.endpoint });
      s3 = new S3Client({
        endpoint: moto.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: {
          accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
          secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        },
      });
      for (const Bucket of Object.values(BUCKETS))
        await s3.send(new CreateBucketCommand({ Bucket }));
    }, 60_000);

    afterAll(async () => {
      s3?.destroy();
      await Promise.all([moto?.stop(), stack?.stop()]);
    });

    it('moves a file above the threshold in parallel parts, byte-identical, deleting the source only after', async () => {
      // Prepare: 1,000 rows padded with blank lines (which CSV readers skip) to 11 MiB
      const rows = Array.from(
        { length: 1_000 },
        (_, i) => `P${String(i).padStart(5, '0')},Pat ${i},Doe,Multipart course`,
      );
      const head = `student_id,first_name,last_name,course\n${rows.join('\n')}\n`;
      const body = Buffer.concat([Buffer.from(head), Buffer.alloc(11 * MIB - head.length, '\n')]);
      const key = 'big/term 2 roster+final.csv';
      const put = await s3.send(
        new PutObjectCommand({ Bucket: BUCKETS.inbound, Key: key, Body: body }),
      );
      const config = loadConfig({
        ...process.env,
        INBOUND_BUCKET: BUCKETS.inbound,
        ARCHIVE_BUCKET: BUCKETS.archive,
        ERROR_BUCKET: BUCKETS.error,
        MULTIPART_COPY_THRESHOLD_BYTES: String(5 * MIB),
      });
      const clients: Clients = createClients(config);
      const calls: string[] = [];
      clients.s3.middlewareStack.add(
        (next, context) => async (args) => {
          calls.push(String(context.commandName));
          return next(args);
        },
        { step: 'initialize', name: 'recordCalls' },
      );

      // Act
      const outcome = await ingestObject(
        { bucket: BUCKETS.inbound, key, eTag: put.ETag?.replace(/"/g, '') },
        { clients, config, remainingTimeMs: () => 900_000 },
      );

      // Assess
      expect(outcome).toMatchObject({
        kind: 'processed',
        result: { status: 'SUCCEEDED', rows: { written: 1_000 } },
      });
      const parts = calls.filter((c) => c === 'UploadPartCopyCommand');
      expect(parts).toHaveLength(3);
      expect(calls).not.toContain('CopyObjectCommand');
      const order = (name: string) => calls.lastIndexOf(name);
      expect(order('CompleteMultipartUploadCommand')).toBeGreaterThan(
        calls.lastIndexOf('UploadPartCopyCommand'),
      );
      expect(order('HeadObjectCommand')).toBeGreaterThan(order('CompleteMultipartUploadCommand'));
      expect(order('DeleteObjectCommand')).toBeGreaterThan(order('HeadObjectCommand'));
      const archived = await s3.send(new GetObjectCommand({ Bucket: BUCKETS.archive, Key: key }));
      expect(sha256((await archived.Body?.transformToByteArray()) ?? new Uint8Array())).toBe(
        sha256(body),
      );
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: BUCKETS.inbound, Key: key })),
      ).rejects.toMatchObject({
        name: 'NotFound',
      });
      clients.s3.destroy();
    }, 60_000);
  },
);
