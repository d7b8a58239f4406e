import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/** One webhook request, to an address the SSRF guard has vetted. */
export interface WebhookRequest {
  url: URL;
  /** The vetted addresses of url.hostname; the connection goes to one of them and nowhere else. */
  addresses: string[];
  headers: Record<string, string>;
  body: Buffer;
  signal: AbortSignal;
  /**
   * Budget for connecting, for the response headers, and for any silence on
   * the socket. The sender enforces it with its own timers, so a request ends
   * even if `signal` never fires.
   */
  timeoutMs: number;
}

/** A request that ran out of its budget before the response headers. */
export class WebhookTimeoutError extends Error {
  override readonly name = 'WebhookTimeoutError';
  /** Like the socket errors' codes, for the relay's log line. */
  readonly code = 'ETIMEDOUT';
}

/** What came back: only what the relay decides on. */
export interface WebhookResponse {
  statusCode: number;
  retryAfter: string | undefined;
}

/** Sends one webhook request; rejects when no response arrives. */
export type WebhookSender = (request: WebhookRequest) => Promise<WebhookResponse>;

/** Response bytes read before the connection is dropped; the body is never used. */
const MAX_RESPONSE_BYTES = 4096;

/**
 * POSTs a webhook with Node's http(s) client. The connection is made to the
 * vetted address through a `lookup` that answers with it, so the host is not
 * resolved a second time (DNS rebinding), while TLS still checks the
 * certificate against the host name. Redirects are never followed; a 3xx is
 * just a failed attempt.
 */
export const postWebhook: WebhookSender = (request) =>
  new Promise((resolve, reject) => {
    const { timeoutMs } = request;
    const vetted = request.addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
    const lookup: LookupFunction = (_host, options, callback) => {
      // With autoSelectFamily (Node's default since 20) the caller asks for
      // all addresses and tries them in turn.
      if (options.all) callback(null, vetted);
      else callback(null, vetted[0]!.address, vetted[0]!.family);
    };
    const client = request.url.protocol === 'https:' ? https : http;
    const req = client.request(
      request.url,
      {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(request.body.length) },
        lookup,
        agent: false,
        signal: request.signal,
        // Socket inactivity, from before the connection is made: also bounds
        // a receiver that sends headers and then stalls the body.
        timeout: timeoutMs,
      },
      (res) => {
        clearTimeout(headersTimer);
        resolve({ statusCode: res.statusCode ?? 0, retryAfter: headerValue(res.headers['retry-after']) });
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
      },
    );
    // These timers are this request's own and are referenced by it until it
    // settles. The caller's signal alone is not enough: on Node 20 a signal
    // made with AbortSignal.any([..., AbortSignal.timeout(ms)]) can be
    // garbage-collected before it fires (nodejs/node#57736), and a receiver
    // that accepts the connection and never answers would hold the request
    // until the peer resets it.
    const fail = (what: string) => req.destroy(new WebhookTimeoutError(`${what} within ${timeoutMs} ms`));
    const headersTimer = setTimeout(() => fail('no response headers'), timeoutMs);
    let connectTimer: NodeJS.Timeout | undefined;
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail('could not connect'), timeoutMs);
      socket.once(request.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('timeout', () => fail('the socket was silent'));
    req.on('error', (err) => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
      reject(err);
    });
    req.on('close', () => {
      clearTimeout(headersTimer);
      clearTimeout(connectTimer);
    });
    req.end(request.body);
  });

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
