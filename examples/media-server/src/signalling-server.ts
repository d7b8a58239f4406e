import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerTokenVerifier, VerifiedClaims } from '@roomgate/client/verifier';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE, closeFor, type CloseCode } from './close-codes.js';
import type { Logger } from './log.js';
import type { StatusReporter } from './status-reporter.js';
import type { TokenGate } from './token-gate.js';
import { APP_PROTOCOL, readOffer, roomFromPath } from './token-protocol.js';

/** What the signalling edge needs; the adapter passes its settings and collaborators. */
export interface SignallingServerOptions {
  verifier: Pick<PeerTokenVerifier, 'recheck' | 'onRevocation' | 'freshness'>;
  /** Decides joins: the verifier, and VerifyPeerToken for tokens older than the feed. */
  gate: Pick<TokenGate, 'check'>;
  /** With fail-closed, how old the feed may be before joins are refused; /readyz answers 503 past it. Undefined for fail-open. */
  failClosedAfterSeconds: number | undefined;
  reporter: StatusReporter;
  log: Logger;
  maxConnections: number;
  pingIntervalSeconds: number;
}

interface Session {
  ws: WebSocket;
  claims: VerifiedClaims;
  alive: boolean;
  /** Set when the socket is closed by the adapter, so its close handler knows why. */
  closing?: CloseCode;
  expiry?: NodeJS.Timeout;
}

// Signalling messages are small; a real SFU would carry SDP and ICE here.
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * The WebSocket edge of a media server: admits a peer whose token verifies
 * for the room in the path, reports it to roomgate, and closes its socket as
 * soon as the verifier learns the token was revoked or superseded.
 */
export class SignallingServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  /** Admitted peers, by peer id: one socket each (a new one replaces the old). */
  private readonly sessions = new Map<string, Session>();
  private pending = 0;
  private sweepQueued = false;
  private readonly stopRevocations: () => void;
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly options: SignallingServerOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      // Echo only roomgate.v1: echoing the token would send it back in a header.
      handleProtocols: (offered) => (offered.has(APP_PROTOCOL) ? APP_PROTOCOL : false),
    });
    this.http = createServer((req, res) => {
      const [status, text] =
        req.url === '/healthz' ? [200, 'ok'] : req.url === '/readyz' ? this.readiness() : [426, 'WebSocket only: /rooms/<room id>'];
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
    });
    this.http.headersTimeout = 10_000;
    this.http.requestTimeout = 15_000;
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      this.upgrade(req, socket, head).catch((err: unknown) => {
        this.options.log('error', 'upgrade failed', { error: String(err) });
        socket.destroy();
      });
    });
    this.stopRevocations = options.verifier.onRevocation(() => this.queueSweep());
    this.pinger = setInterval(() => this.ping(), options.pingIntervalSeconds * 1000);
    this.pinger.unref();
  }

  /** Starts listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve((this.http.address() as AddressInfo).port));
    });
  }

  /** How many peers are admitted now. */
  get connectedCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting, and closes every socket with 1001 (each is reported DISCONNECTED). */
  async close(): Promise<void> {
    this.stopRevocations();
    clearInterval(this.pinger);
    this.http.close();
    for (const session of [...this.sessions.values()]) this.end(session, CLOSE.shutdown);
    const closed = [...this.wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    for (const ws of this.wss.clients) ws.terminate();
    this.http.closeAllConnections();
  }

  // For a load balancer: take this server out of rotation while it would
  // refuse every join anyway (fail-closed, feed silent too long).
  private readiness(): [number, string] {
    const { lastEventAgeMs, connected } = this.options.verifier.freshness();
    const limitMs = (this.options.failClosedAfterSeconds ?? Infinity) * 1000;
    if (lastEventAgeMs !== undefined && lastEventAgeMs > limitMs) return [503, 'revocation feed stale'];
    return [200, connected ? 'ready' : 'ready (feed reconnecting)'];
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const roomId = roomFromPath(req.url);
    if (roomId === undefined) return refuseHttp(socket, 404, 'Not Found');
    const { token, speaksApp } = readOffer(req);
    // Without roomgate.v1 the handshake cannot echo a protocol the client
    // offered, and the client would drop the socket before seeing a close code.
    if (!speaksApp) return refuseHttp(socket, 400, 'Bad Request');
    if (this.wss.clients.size + this.pending >= this.options.maxConnections) {
      return this.accept(req, socket, head, (ws) => ws.close(CLOSE.full.code, CLOSE.full.reason));
    }
    this.pending++;
    let verdict: { claims: VerifiedClaims; stale: boolean } | CloseCode;
    try {
      if (token === undefined) verdict = CLOSE.tokenMissing;
      else {
        const admission = await this.options.gate.check(token, roomId);
        verdict = admission.ok ? { claims: admission.claims, stale: admission.stale } : closeFor(admission.reason);
      }
    } finally {
      this.pending--;
    }
    this.accept(req, socket, head, (ws) => {
      if ('code' in verdict) {
        this.options.log('info', 'refused', { roomId, code: verdict.code, reason: verdict.reason });
        ws.close(verdict.code, verdict.reason);
      } else {
        this.admit(ws, verdict.claims, verdict.stale);
      }
    });
  }

  // A refusal is sent as a close code after the handshake, not as an HTTP
  // 401: browsers hide a failed handshake's status from the page.
  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void): void {
    this.wss.handleUpgrade(req, socket, head, then);
  }

  private admit(ws: WebSocket, claims: VerifiedClaims, stale: boolean): void {
    const { roomId, peerId } = claims;
    const session: Session = { ws, claims, alive: true };
    const previous = this.sessions.get(peerId);
    this.sessions.set(peerId, session);
    ws.on('pong', () => (session.alive = true));
    ws.on('message', () => {
      // A real SFU handles its signalling here; this adapter only keeps the session.
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => this.onClose(session, code));
    const msUntilExpiry = claims.expiresAt.getTime() - Date.now();
    session.expiry = setTimeout(() => this.end(session, CLOSE.expired), Math.max(0, msUntilExpiry));
    this.options.log('info', 'admitted', { roomId, peerId, identity: claims.identity, stale });
    if (previous) this.end(previous, CLOSE.replaced);
    else this.options.reporter.report(roomId, peerId, 'connected');
    ws.send(JSON.stringify({ type: 'joined', roomId, peerId, identity: claims.identity, permissions: claims.permissions, expiresAt: claims.expiresAt.toISOString() }));
    // A revocation applied while verify() was awaited found no session to close.
    this.recheck(session);
  }

  private onClose(session: Session, code: number): void {
    clearTimeout(session.expiry);
    const { roomId, peerId } = session.claims;
    this.options.log('info', 'closed', { roomId, peerId, code, by: session.closing ? 'server' : 'client', reason: session.closing?.reason });
    this.release(session);
  }

  /** Closes a session's socket once, with `why`. */
  private end(session: Session, why: CloseCode): void {
    if (session.closing) return;
    session.closing = why;
    // The peer is gone from this server now, not when the client answers the
    // close frame: a client that reconnects at once must be a new session.
    if (why !== CLOSE.replaced) this.release(session);
    session.ws.close(why.code, why.reason);
    // A client that never answers the close frame is cut off.
    setTimeout(() => session.ws.terminate(), 5_000).unref();
  }

  /** Forgets a session and reports its peer DISCONNECTED, unless a newer socket of the peer holds its place. */
  private release(session: Session): void {
    const { roomId, peerId } = session.claims;
    if (this.sessions.get(peerId) !== session) return;
    this.sessions.delete(peerId);
    this.options.reporter.report(roomId, peerId, 'disconnected');
  }

  // Many revocations can land in one tick (a room deleted, a feed catching up
  // after a reconnect): one pass over the sessions handles them all.
  private queueSweep(): void {
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    setImmediate(() => {
      this.sweepQueued = false;
      for (const session of [...this.sessions.values()]) this.recheck(session);
    });
  }

  private recheck(session: Session): void {
    if (session.closing) return;
    const result = this.options.verifier.recheck(session.claims);
    // A stale feed stops new joins, never live sessions: dropping every call
    // because roomgate is unreachable would turn its outage into ours. The
    // revocations missed meanwhile arrive when the feed resumes.
    if (result.valid || result.reason === 'STALE') return;
    this.end(session, closeFor(result.reason));
  }

  private ping(): void {
    for (const session of this.sessions.values()) {
      if (!session.alive) {
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }
}

function refuseHttp(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
