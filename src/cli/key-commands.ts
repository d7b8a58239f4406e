import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { KeyEncryptor } from '../domain/key-encryption.js';
import type { ManagementPrincipal } from '../domain/principal.js';
import type { SigningKeyInfo } from '../domain/records.js';
import { MAX_PREPUBLISH_SECONDS, rotationTiming, SigningKeyManager } from '../domain/signing-key-manager.js';
import { SigningKeyRing } from '../domain/signing-keys.js';
import { openDatabase } from '../store/database.js';
import { PgSigningKeyStore } from '../store/signing-key-store.js';
import { asCliCommand } from './cli-audit.js';
import { cliLogger, printTable, UsageError } from './output.js';

/** Help text of `roomgate keys`. */
export const KEYS_USAGE = `Usage:
  roomgate keys list
  roomgate keys rotate [--prepublish-seconds N]

list     shows the published peer-token signing keys: next, current and previous.
rotate   publishes a new key in the JWKS at once; it starts signing after N seconds
         (default ROOMGATE_KEY_PREPUBLISH_SECONDS; 0 means at once, 0-${MAX_PREPUBLISH_SECONDS}), so media
         servers that cache the JWKS learn it first. The key it replaces keeps verifying
         until every token it signed has expired, then leaves the JWKS. Refused while
         an earlier new key has not started signing. Running servers pick the new key
         up at once.
Both need the key-encryption key (ROOMGATE_KEY_ENCRYPTION_KEY with DATABASE_URL) and
work whether or not a server is running.`;

// Signing keys belong to no environment; the operator at the console is an
// admin of both. A rotation's audit record goes to this principal's.
const CLI_ADMIN: ManagementPrincipal = { kind: 'management', environment: 'production', tokenId: 'cli', scopes: ['admin'] };

function prepublishOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError('--prepublish-seconds must be a whole number of seconds');
  return Number(value);
}

function rows(keys: SigningKeyInfo[]): string[][] {
  const time = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
  return keys.map((k) => [k.kid, k.state, time(k.activatedAt), k.retiredAt ? time(k.retiredAt) : '-']);
}

/** Runs `roomgate keys …`; returns the exit code. */
export async function keysCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      'prepublish-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const help = values.help || sub === 'help' || sub === '--help' || sub === '-h';
  if (help || (sub !== 'list' && sub !== 'rotate')) {
    process[help ? 'stdout' : 'stderr'].write(KEYS_USAGE + '\n');
    return help ? 0 : 2;
  }
  if (sub === 'list' && values['prepublish-seconds'] !== undefined) {
    throw new UsageError('--prepublish-seconds applies to keys rotate only');
  }
  const prepublish = prepublishOf(values['prepublish-seconds']);

  const config = loadConfig(env);
  const database = await openDatabase(config, cliLogger(config));
  try {
    if (!database.keyEncryptionKey) throw new Error('no key-encryption key configured');
    const store = new PgSigningKeyStore(database.pool);
    const ring = new SigningKeyRing(store, new KeyEncryptor(database.keyEncryptionKey), systemClock, { reloadIntervalMs: 0 });
    // Decrypting the stored keys first proves this is the servers' KEK: a key
    // rotated in under another KEK would stop every server from (re)starting.
    await ring.init();
    const manager = new SigningKeyManager(ring, store, systemClock, rotationTiming(config));
    if (sub === 'rotate') {
      const { key, keys } = await asCliCommand('keys rotate', CLI_ADMIN.environment, () => manager.rotate(CLI_ADMIN, prepublish));
      process.stderr.write(`published signing key ${key.kid}; it signs from ${key.activatedAt.toISOString()}\n`);
      printTable(['KID', 'STATE', 'ACTIVATE', 'RETIRE'], rows(keys));
    } else {
      printTable(['KID', 'STATE', 'ACTIVATE', 'RETIRE'], rows(await manager.list(CLI_ADMIN)));
    }
    return 0;
  } finally {
    await database.close();
  }
}
