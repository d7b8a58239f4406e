// A real roomgate for integration tests: the production wiring (startRoomgate)
// on a database of this test file's own (see database.ts), listening on
// 127.0.0.1:0, reached through the exported promise client over a socket.
// More roomgates may share that database (a second instance, or a restart:
// one closed and another started in its place); the file's first one drops it.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { ServiceError } from '@grpc/grpc-js';
import type pg from 'pg';
import { pino } from 'pino';
import { expect } from 'vitest';
import { createRoomgateClient, type RoomgateClient } from '../../src/client/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import { NO_CACHE } from '../../src/domain/cache-invalidator.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { ManagementTokenManager } from '../../src/domain/management-token-manager.js';
import { PageTokens } from '../../src/domain/pagination.js';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import type { Environment, Scope } from '../../src/domain/principal.js';
import { startRoomgate, type Roomgate } from '../../src/main.js';
import { PgManagementTokenStore } from '../../src/store/management-token-store.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A running server, its database, a client, and the log lines it wrote. */
export interface TestRoomgate {
  address: string;
  /** The public HTTP listener's base URL, e.g. http://127.0.0.1:PORT (https:// with ROOMGATE_TLS_*); throws when it is off. */
  readonly httpUrl: string;
  config: Config;
  db: TestDatabase;
  roomgate: Roomgate;
  client: RoomgateClient;
  logs: string[];
  /** Creates a management token in `environment` the way the CLI does; admin unless scopes are given. */
  managementToken(environment?: Environment, scopes?: Scope[]): Promise<string>;
  close(): Promise<void>;
}

/** Creates a management token straight in the database, as the CLI does; admin unless scopes are given. */
export async function mintTestToken(
  pool: pg.Pool,
  options: { environment?: Environment; scopes?: Scope[]; clock?: Clock } = {},
): Promise<string> {
  // Only mints: its page tokens are never used.
  const tokens = new ManagementTokenManager(new PgManagementTokenStore(pool), options.clock ?? systemClock, DEFAULT_LIMITS, NO_CACHE, new PageTokens(randomBytes(32)));
  const minted = await tokens.mint(options.environment ?? 'sandbox', { name: 'test', scopes: options.scopes ?? ['admin'], expiresAt: null });
  return minted.token;
}

/** Options of {@link startTestRoomgate}. */
export interface TestRoomgateOptions {
  clock?: Clock;
  /**
   * Another test roomgate whose database this one serves, with its
   * key-encryption key (the signing keys there are sealed with it), as a
   * second instance or a restarted one would; close() then leaves the
   * database to its owner.
   */
  sharing?: Pick<TestRoomgate, 'db' | 'config'>;
}

/** Starts roomgate on a fresh database, or on another test roomgate's (see {@link TestRoomgateOptions.sharing}). */
export async function startTestRoomgate(env: Record<string, string> = {}, options: TestRoomgateOptions = {}): Promise<TestRoomgate> {
  const shared = options.sharing;
  const db = shared?.db ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: db.connectionString,
    ROOMGATE_KEY_ENCRYPTION_KEY: (shared?.config.keyEncryptionKey ?? randomBytes(32)).toString('base64'),
    ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
    ROOMGATE_LOG_LEVEL: 'info',
    ROOMGATE_SHUTDOWN_GRACE_SECONDS: '1',
    ROOMGATE_METRICS_ADDRESS: '127.0.0.1:0',
    // A port of its own: test files run in parallel, and the default 8080 would collide.
    ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const roomgate = await startRoomgate(config, pino({ level: config.logLevel }, sink), { clock: options.clock });
  const address = `127.0.0.1:${roomgate.port}`;
  const client = createRoomgateClient(address);
  return {
    address,
    get httpUrl() {
      if (roomgate.httpPort === undefined) throw new Error('the HTTP listener is off (ROOMGATE_HTTP_ADDRESS=off)');
      return `${config.tls ? 'https' : 'http'}://127.0.0.1:${roomgate.httpPort}`;
    },
    config,
    db,
    roomgate,
    client,
    logs,
    managementToken: (environment = 'sandbox', scopes = ['admin']) =>
      mintTestToken(db.pool, { environment, scopes, clock: options.clock }),
    close: async () => {
      client.close();
      await roomgate.close();
      if (!shared) await db.drop();
    },
  };
}

/** Asserts that `promise` fails with gRPC `code` and a details text matching `details`. */
export async function expectStatus(promise: Promise<unknown>, code: number, details?: RegExp): Promise<ServiceError> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected gRPC status ${code}, got a response: ${JSON.stringify(value)}`);
    },
    (e: ServiceError) => e,
  );
  expect(err.code, `status of: ${err.details}`).toBe(code);
  if (details) expect(err.details).toMatch(details);
  return err;
}
