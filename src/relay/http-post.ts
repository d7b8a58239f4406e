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
      },
      (res) => {
        resolve({ statusCode: res.statusCode ?? 0, retryAfter: headerValue(res.headers['retry-after']) });
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
