import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { Authenticator } from './domain/authenticator.js';
import { systemClock, type Clock } from './domain/clock.js';
import { KeyEncryptor } from './domain/key-encryption.js';
import { ManagementTokenManager } from './domain/management-token-manager.js';
import { PeerManager } from './domain/peer-manager.js';
import { PeerTokens } from './domain/peer-token.js';
import { RoomManager } from './domain/room-manager.js';
import { SigningKeyRing } from './domain/signing-keys.js';
import { TokenManager } from './domain/token-manager.js';
import { startEmbeddedPostgres } from './store/embedded-postgres.js';
import { PgManagementTokenStore } from './store/management-token-store.js';
import { migrate } from './store/migrate.js';
import { PgPeerStore } from './store/peer-store.js';
import { createPool } from './store/pool.js';
import { PgRoomStore } from './store/room-store.js';
import { readOrCreateSecretFile } from './store/secret-file.js';
import { PgSigningKeyStore } from './store/signing-key-store.js';
import { createRoomgateServer, type RoomgateServer } from './transport/server.js';

/** An open, migrated database and what came with it. */
export interface Database {
  pool: pg.Pool;
  /** True when roomgate runs its own Postgres in the data directory. */
  embedded: boolean;
  /** The key-encryption key: from configuration, or the data directory's in embedded mode. */
  keyEncryptionKey: Buffer | undefined;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts (or attaches to) embedded Postgres, then migrates. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const onError = (err: Error) => logger.warn({ err }, 'idle database client failed');
  if (config.databaseUrl) {
    const pool = createPool({ connectionString: config.databaseUrl, max: config.poolSize, onError });
    await migrate(pool);
    return { pool, embedded: false, keyEncryptionKey: config.keyEncryptionKey, close: () => pool.end() };
  }
  const dataDir = path.resolve(config.dataDir);
  const pg = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug({ postgres: line.trim() }) });
  const pool = createPool({ connectionString: pg.connectionString, max: config.poolSize, onError });
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    await pg.stop();
    throw err;
  }
  const keyEncryptionKey =
    config.keyEncryptionKey ?? (await readOrCreateSecretFile(path.join(dataDir, 'key-encryption-key'), 32));
  return {
    pool,
    embedded: true,
    keyEncryptionKey,
    close: async () => {
      await pool.end();
      await pg.stop();
    },
  };
}

/** A running roomgate. */
export interface Roomgate {
  port: number;
  server: RoomgateServer;
  database: Database;
  /** The sandbox token created on the first start of an embedded install, shown once. */
  bootstrapToken: string | undefined;
  close(): Promise<void>;
}

/** Wires pool, stores, managers and server, and starts listening. */
export async function startRoomgate(
  config: Config,
  logger: Logger,
  options: { clock?: Clock; database?: Database } = {},
): Promise<Roomgate> {
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config, logger));
  try {
    if (!database.keyEncryptionKey) throw new Error('no key-encryption key configured');
    const { pool } = database;
    const keys = new SigningKeyRing(new PgSigningKeyStore(pool), new KeyEncryptor(database.keyEncryptionKey), clock);
    await keys.init();
    const peerStore = new PgPeerStore(pool);
    const managementTokenStore = new PgManagementTokenStore(pool);
    const peerTokens = new PeerTokens(keys, clock, {
      issuer: config.issuer,
      clockToleranceSeconds: config.clockToleranceSeconds,
    });
    const tokens = new TokenManager(peerTokens, peerStore, keys, config.limits);
    const server = createRoomgateServer({
      logger,
      authenticator: new Authenticator(managementTokenStore, tokens, clock),
      rooms: new RoomManager(new PgRoomStore(pool), config.limits),
      peers: new PeerManager(peerStore, peerTokens, config.limits),
      tokens,
    });
    const bootstrapToken = database.embedded ? await new ManagementTokenManager(managementTokenStore).bootstrap() : undefined;
    const port = await server.listen(config.grpcAddress);
    return {
      port,
      server,
      database,
      bootstrapToken,
      close: async () => {
        await server.close(config.shutdownGraceSeconds * 1000);
        if (!options.database) await database.close();
      },
    };
  } catch (err) {
    if (!options.database) await database.close();
    throw err;
  }
}
