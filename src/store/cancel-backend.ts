import net from 'node:net';
import type pg from 'pg';

// CancelRequest of the frontend/backend protocol (3.0): length 16, the code
// 1234.5678, then the backend's process id and secret key from BackendKeyData.
const CANCEL_REQUEST_CODE = 80877102;

/** The fields pg keeps from BackendKeyData and the address it connected to. */
interface Connected {
  host: string;
  port: number;
  processID?: number | null;
  secretKey?: number | null;
}

/**
 * Asks the server to cancel whatever `client`'s backend is running, over a new
 * connection as the protocol requires; the statement then fails with 57014.
 * Fire and forget: if the request cannot be sent, the statement runs on until
 * it ends or the pool's statement timeout stops it.
 */
export function cancelBackend(client: pg.PoolClient): void {
  const { host, port, processID, secretKey } = client as unknown as Connected;
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  // A host starting with / is a Unix socket directory, as in libpq.
  const socket = host.startsWith('/') ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host);
  socket.setTimeout(5_000, () => socket.destroy());
  socket.on('error', () => undefined);
  // Sent without closing our side: the server closes the connection once it
  // has acted on the request, and libpq waits for that too. PgBouncer 1.18
  // exits (FATAL "bad client state: 0" in disconnect_client; pgbouncer issue
  // 801, pull request 846) when a cancel client hangs up before the server
  // connection it opened to forward the cancel is done: every client of the
  // pooler, every roomgate instance, loses its database.
  socket.on('connect', () => socket.write(packet));
}
