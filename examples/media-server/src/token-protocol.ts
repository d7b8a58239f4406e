import type { IncomingMessage } from 'node:http';

/** The subprotocol the adapter speaks; a client offers it with its token and the server echoes it. */
export const APP_PROTOCOL = 'roomgate.v1';
/** A client offers `roomgate.token.<peer token>` as a second subprotocol. */
export const TOKEN_PROTOCOL_PREFIX = 'roomgate.token.';

/**
 * The subprotocols a client offered (Sec-WebSocket-Protocol), split out into
 * the token and whether it speaks roomgate.v1.
 *
 * Why the token travels here and not in `?access_token=`: browsers cannot set
 * an Authorization header on a WebSocket, and a URL ends up in access logs,
 * proxy logs and browser history, while this header is logged by none of the
 * usual defaults. Kubernetes carries bearer tokens the same way. A JWT is
 * made of base64url and dots, all legal in a subprotocol name.
 */
export function readOffer(req: IncomingMessage): { token: string | undefined; speaksApp: boolean } {
  let token: string | undefined;
  let speaksApp = false;
  for (const raw of (req.headers['sec-websocket-protocol'] ?? '').split(',')) {
    const offered = raw.trim();
    if (offered === APP_PROTOCOL) speaksApp = true;
    else if (offered.startsWith(TOKEN_PROTOCOL_PREFIX)) token = offered.slice(TOKEN_PROTOCOL_PREFIX.length);
  }
  return { token, speaksApp };
}

/** The room a request asks to join: `/rooms/<id>`, or undefined for any other path. */
export function roomFromPath(url: string | undefined): string | undefined {
  const path = (url ?? '').split('?', 1)[0]!;
  const match = /^\/rooms\/([A-Za-z0-9_-]{1,128})\/?$/.exec(path);
  return match?.[1];
}
