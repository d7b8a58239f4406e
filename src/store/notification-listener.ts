import net from 'node:net';
import pg from 'pg';
import type { Logger } from 'pino';

/** Options for {@link NotificationListener}. */
export interface NotificationListenerOptions {
  connectionString: string;
  /** Channels to LISTEN on, exactly as pg_notify names them. */
  channels: readonly string[];
  logger: Logger;
  /** The session's application_name, by which operators find it in pg_stat_activity. */
  applicationName?: string;
  /** How often the connection is checked with `SELECT 1`; 5 s by default. */
  heartbeatIntervalMs?: number;
  /** How long that check, and each LISTEN, may take before the connection counts as dead; 2 s by default. */
  heartbeatTimeoutMs?: number;
  /** How long connecting may take; 5 s by default. */
  connectTimeoutMs?: number;
  /** First delay before reconnecting; it doubles up to {@link maxReconnectDelayMs}. 100 ms by default. */
  minReconnectDelayMs?: number;
  /** Longest delay between reconnect attempts; 5 s by default. */
  maxReconnectDelayMs?: number;
}

/** How long a graceful disconnect may take before the socket is destroyed. */
const END_TIMEOUT_MS = 1_000;

interface Connection {
  client: pg.Client;
  socket: net.Socket;
}

/**
 * Postgres LISTEN on a dedicated connection, outside the pool, as a
 * connection that listens must stay open and must not be shared. A lost
 * connection is replaced with capped exponential backoff; notifications sent
 * meanwhile are lost, so every reconnect runs the {@link onReconnect}
 * handlers (which flush caches) before {@link connected} turns true again.
 */
export class NotificationListener {
  private readonly handlers = new Map<string, Array<(payload: string) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private readonly closing = new Set<Promise<void>>();
  private readonly settings: Required<Omit<NotificationListenerOptions, 'logger' | 'channels' | 'connectionString'>>;
  private current: Connection | undefined;
  private started = false;
  private stopped = false;
  private everConnected = false;
  private failures = 0;
  private connecting: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly options: NotificationListenerOptions) {
    this.settings = {
      applicationName: options.applicationName ?? 'roomgate-listener',
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      minReconnectDelayMs: options.minReconnectDelayMs ?? 100,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 5_000,
    };
    for (const channel of options.channels) this.handlers.set(channel, []);
  }

  /** Whether notifications are being received: connected, listening, and flushed after a reconnect. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  /** Calls `handler` with the payload of every notification on `channel`, one of the configured channels. */
  on(channel: string, handler: (payload: string) => void): void {
    const list = this.handlers.get(channel);
    if (!list) throw new Error(`not listening on channel ${JSON.stringify(channel)}`);
    list.push(handler);
  }

  /** Calls `handler` after every reconnect, before notifications count as received again. */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  /** Connects and listens; rejects, leaving nothing open, when the first connection fails. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the notification listener was already started');
    this.started = true;
    this.connecting = this.connect();
    try {
      await this.connecting;
    } catch (err) {
      this.started = false;
      await Promise.all(this.closing);
      throw err;
    } finally {
      this.connecting = undefined;
    }
    this.heartbeat = setInterval(() => void this.check(), this.settings.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  /** Stops listening and closes the connection; no timer or socket is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    await this.connecting?.catch(() => undefined);
    const current = this.current;
    this.current = undefined;
    if (current) this.close(current);
    await Promise.all(this.closing);
  }

  private async connect(): Promise<void> {
    // Our own socket, so that a connection that stopped answering can be destroyed.
    const socket = new net.Socket();
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.settings.applicationName,
      connectionTimeoutMillis: this.settings.connectTimeoutMs,
      query_timeout: this.settings.heartbeatTimeoutMs,
      keepAlive: true,
      stream: () => socket,
    });
    const connection = { client, socket };
    client.on('error', (err) => this.lost(connection, err));
    client.on('end', () => this.lost(connection, new Error('connection ended')));
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      this.close(connection);
      throw err;
    }
    if (this.stopped) {
      this.close(connection);
      return;
    }
    if (this.everConnected) {
      for (const handler of this.reconnectHandlers) {
        try {
          handler();
        } catch (err) {
          this.options.logger.error({ err }, 'reconnect handler failed');
        }
      }
    }
    this.everConnected = true;
    this.failures = 0;
    this.current = connection;
  }

  private lost(connection: Connection, err: Error): void {
    // Errors while connecting reject connect() and are handled there.
    if (connection !== this.current) return;
    this.current = undefined;
    this.close(connection);
    this.options.logger.warn({ err }, 'notification listener lost its connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const ceiling = Math.min(this.settings.maxReconnectDelayMs, this.settings.minReconnectDelayMs * 2 ** this.failures);
    // Jitter spreads the instances out after a database restart.
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connecting = this.reconnect().finally(() => (this.connecting = undefined));
    }, delay);
    this.retry.unref();
  }

  private async reconnect(): Promise<void> {
    try {
      await this.connect();
      if (this.current) this.options.logger.info('notification listener reconnected');
    } catch (err) {
      this.failures++;
      this.options.logger.warn({ err, failures: this.failures }, 'notification listener could not reconnect');
      this.scheduleReconnect();
    }
  }

  private async check(): Promise<void> {
    const current = this.current;
    if (!current || this.checking) return;
    this.checking = true;
    try {
      await current.client.query('SELECT 1');
    } catch (err) {
      this.lost(current, err as Error);
    } finally {
      this.checking = false;
    }
  }

  private dispatch(channel: string, payload: string): void {
    if (this.stopped) return;
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.options.logger.error({ err, channel }, 'notification handler failed');
      }
    }
  }

  private close({ client, socket }: Connection): void {
    client.removeAllListeners('notification');
    const closing = new Promise<void>((resolve) => {
      // A graceful end first, so the server does not log an unexpected EOF.
      const force = setTimeout(() => {
        socket.destroy();
        resolve();
      }, END_TIMEOUT_MS);
      void client
        .end()
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(force);
          socket.destroy();
          resolve();
        });
    }).finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }
}
