import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen } from './httpServer.ts';

/** A message as the local SNS endpoint received it. */
export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  subject: string | undefined;
  message: string;
  messageStructure: string | undefined;
  receivedAt: string;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** SNS's limit on a message, in bytes (256 KiB). */
const MAX_MESSAGE_BYTES = 256 * 1024;

const escapeXml = (text: string): string =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(`<?xml version="1.0"?>\n${body}`);
}

function replyError(res: ServerResponse, code: string, message: string): void {
  reply(
    res,
    400,
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

/**
 * The smallest SNS that the pipeline needs, speaking the real Query protocol: CreateTopic and
 * Publish. It keeps every message where tests can read it and hands each to a listener, which
 * `npm start` prints. It checks what real SNS checks for a Subject and a message's size, so a bad one fails here too.
 */
export class SnsStandIn {
  public readonly messages: PublishedMessage[] = [];
  private readonly topics = new Set<string>();
  private server: Server | null = null;

  public constructor(
    private readonly region = 'us-east-1',
    private readonly account = '000000000000',
    private readonly onPublish?: (message: PublishedMessage) => void,
  ) {}

  public async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) =>
        replyError(res, 'InternalError', String(error)),
      );
    });
    this.server = server;
    return listen(server, port, host);
  }

  public async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    await close(server);
  }

  public createTopic(name: string): string {
    const arn = `arn:aws:sns:${this.region}:${this.account}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const requestId = randomUUID();
    switch (form.get('Action')) {
      case 'CreateTopic': {
        const arn = this.createTopic(form.get('Name') ?? 'topic');
        return reply(
          res,
          200,
          `<CreateTopicResponse xmlns="${XMLNS}"><CreateTopicResult><TopicArn>${arn}</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></CreateTopicResponse>`,
        );
      }
      case 'Publish': {
        const topicArn = form.get('TopicArn') ?? '';
        if (!this.topics.has(topicArn))
          return replyError(res, 'NotFound', `Topic does not exist: ${topicArn}`);
        const subject = form.get('Subject') ?? undefined;
        if (subject !== undefined && (subject.length >= 100 || !/^[\x20-\x7e]+$/.test(subject))) {
          return replyError(res, 'InvalidParameter', 'Invalid parameter: Subject');
        }
        const message = form.get('Message') ?? '';
        if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) {
          return replyError(res, 'InvalidParameter', 'Invalid parameter: Message too long');
        }
        const messageStructure = form.get('MessageStructure') ?? undefined;
        if (messageStructure === 'json') {
          try {
            if (typeof JSON.parse(message).default !== 'string') throw new Error('no default');
          } catch {
            return replyError(
              res,
              'InvalidParameter',
              'Invalid parameter: Message Structure - JSON message body failed to parse',
            );
          }
        }
        const published: PublishedMessage = {
          messageId: randomUUID(),
          topicArn,
          subject,
          message,
          messageStructure,
          receivedAt: new Date().toISOString(),
        };
        this.messages.push(published);
        this.onPublish?.(published);
        return reply(
          res,
          200,
          `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${published.messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
        );
      }
      default:
        return replyError(
          res,
          'InvalidAction',
          `Action not supported by the local SNS endpoint: ${form.get('Action')}`,
        );
    }
  }
}
