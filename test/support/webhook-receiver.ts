// A webhook receiver on 127.0.0.1 for integration tests. It records every
// request and answers each path from a script of responses (then 200).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request ended. */
  at: number;
}

/** A scripted answer. */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
}

/** A running receiver. */
export interface WebhookReceiver {
  port: number;
  /** http://127.0.0.1:port + path. */
  url(path: string): string;
  /** Requests to `path`, in arrival order. */
  received(path: string): ReceivedWebhook[];
  /** Answers the next requests to `path` with these, in order; afterwards 200. */
  script(path: string, ...responses: ScriptedResponse[]): void;
  /** Answers requests to `path` with what `answer` returns (200 for undefined). */
  respond(path: string, answer: (hit: ReceivedWebhook) => ScriptedResponse | undefined): void;
  close(): Promise<void>;
}

/** Starts a receiver on an ephemeral loopback port. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const log: ReceivedWebhook[] = [];
  const answers = new Map<string, (hit: ReceivedWebhook) => ScriptedResponse | undefined>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const hit = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      log.push(hit);
      const answer = answers.get(path)?.(hit) ?? { status: 200 };
      res.writeHead(answer.status, answer.headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received: (path) => log.filter((r) => r.path === path),
    script: (path, ...responses) => answers.set(path, () => responses.shift()),
    respond: (path, answer) => answers.set(path, answer),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
