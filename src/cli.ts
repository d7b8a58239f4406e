import { pino } from 'pino';
import { auditCommand } from './cli/audit-commands.js';
import { deliverBootstrapToken } from './cli/bootstrap-token.js';
import { healthCommand } from './cli/health-command.js';
import { keysCommand } from './cli/key-commands.js';
import { cliLogger, UsageError } from './cli/output.js';
import { tokenCommand } from './cli/token-commands.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DomainError } from './domain/errors.js';
import { startRoomgate, type Roomgate } from './main.js';
import { openDatabase, type Database } from './store/database.js';
import { migrationStatus } from './store/migrate.js';

const USAGE = `roomgate: gRPC control plane for real-time media rooms

Usage:
  roomgate serve                 serve gRPC (embedded Postgres unless DATABASE_URL is set)
  roomgate migrate [--status]    apply database migrations and exit, or show where they stand
  roomgate token create|list|revoke
                                 manage management tokens (roomgate token --help)
  roomgate keys rotate|list      manage peer-token signing keys (roomgate keys --help)
  roomgate audit verify|export   check the audit log's hash chain, or export it as JSON lines
                                 (roomgate audit --help)
  roomgate health                exit 0 only if the server answers SERVING (roomgate health --help)
  roomgate help                  show this help

Configuration comes from the environment; see docs/configuration.md.`;

async function serve(config: Config): Promise<number> {
  const log = pino({ level: config.logLevel, base: { service: 'roomgate' } });
  // Handlers come before anything starts. A signal while the database is
  // still being retried ends the wait, and serve exits 0 at once: it was asked
  // to stop and nothing had started. A signal later in the start shuts down
  // as soon as the start is complete. A second signal, a second or more after
  // the first, means "now": exit 1, skipping the grace period.
  const stopping = new AbortController();
  let stopRequestedAt = 0;
  const stop = (signal: string) => {
    // Under `npm start`, a terminal's Ctrl-C reaches this process twice: from
    // the terminal (same process group) and forwarded by npm. A repeat within
    // a second is that echo, not a user asking for "now".
    if (stopping.signal.aborted) {
      if (performance.now() - stopRequestedAt < 1000) return;
      process.exit(1);
    }
    stopRequestedAt = performance.now();
    log.info({ signal }, 'shutting down');
    stopping.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const stopped = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

  let database: Database;
  try {
    database = await openDatabase(config, log, undefined, {
      retryForMs: config.dbConnectTimeoutSeconds * 1000,
      signal: stopping.signal,
    });
  } catch (err) {
    if (stopping.signal.aborted) return 0;
    throw err;
  }
  let roomgate: Roomgate | undefined;
  try {
    if (!stopping.signal.aborted) roomgate = await startRoomgate(config, log, { database });
  } catch (err) {
    await database.close();
    throw err;
  }
  if (roomgate && !stopping.signal.aborted) {
    if (roomgate.bootstrapToken) {
      // Never on stdout: that is the JSON log stream, and logs are shipped.
      try {
        const file = await deliverBootstrapToken(roomgate.bootstrapToken, config.dataDir, process.stderr);
        log.info({ file }, 'created a sandbox admin token on this first start; it is in this file (mode 0600)');
      } catch (err) {
        // The server works without it; another token is one command away.
        log.error({ err }, 'could not write the bootstrap token file; make a token with `roomgate token create`');
      }
    }
    log.info(
      {
        address: config.grpcAddress,
        port: roomgate.port,
        metricsPort: roomgate.metricsPort,
        httpPort: roomgate.httpPort,
        database: roomgate.database.embedded ? 'embedded' : 'external',
      },
      'roomgate serving',
    );
  }
  await stopped;
  try {
    await roomgate?.close();
    await database.close();
    log.info({ drainMs: Math.round(performance.now() - stopRequestedAt) }, 'roomgate stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    return 1;
  }
}

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

async function migrateOnly(config: Config): Promise<number> {
  const database = await openDatabase(config, cliLogger(config), 'migrate');
  await database.close();
  process.stderr.write('migrations applied\n');
  return 0;
}

/** `roomgate migrate --status`: one line per migration; exit 1 when any is pending or changed. */
async function migrateStatus(config: Config): Promise<number> {
  const database = await openDatabase(config, cliLogger(config), 'none');
  try {
    const status = await migrationStatus(database.pool);
    for (const s of status) {
      const when = s.appliedAt ? s.appliedAt.toISOString() : '-';
      process.stdout.write(`${String(s.version).padStart(4, '0')}_${s.name}\t${s.state}\t${when}\n`);
    }
    return status.some((s) => s.state === 'pending' || s.state === 'changed') ? 1 : 0;
  } finally {
    await database.close();
  }
}

const SERVE_USAGE = `Usage: roomgate serve

Serves gRPC on ROOMGATE_GRPC_ADDRESS (default 127.0.0.1:50051), the JWKS and health
endpoints on ROOMGATE_HTTP_ADDRESS (default 127.0.0.1:8080) and Prometheus metrics on
ROOMGATE_METRICS_ADDRESS. Uses DATABASE_URL, or an embedded Postgres in ROOMGATE_DATA_DIR
when it is unset; applies migrations first. SIGTERM or SIGINT shut it down gracefully.
Configuration comes from the environment; see docs/configuration.md.`;

const MIGRATE_USAGE = `Usage: roomgate migrate [--status]

Applies the database migrations (numbered SQL files, each in one transaction, serialized
across instances by an advisory lock) and exits. \`roomgate serve\` also does this at start,
unless ROOMGATE_MIGRATE_ON_START=false. It refuses to run if a migration already applied
has since been edited.

  --status   change nothing; print each migration as applied, pending, changed (edited
             after it was applied) or newer (applied by a newer build), and exit 1 if any
             is pending or changed`;

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        if (wantsHelp(rest)) return help(SERVE_USAGE);
        if (rest.length > 0) throw new UsageError(`serve takes no arguments\n\n${SERVE_USAGE}`);
        return await serve(loadConfig(env));
      case 'migrate':
        if (wantsHelp(rest)) return help(MIGRATE_USAGE);
        if (rest.length === 1 && rest[0] === '--status') return await migrateStatus(loadConfig(env, { needKeys: false }));
        if (rest.length > 0) throw new UsageError(`migrate takes no arguments but --status\n\n${MIGRATE_USAGE}`);
        return await migrateOnly(loadConfig(env, { needKeys: false }));
      case 'token':
        return await tokenCommand(rest, env);
      case 'keys':
        return await keysCommand(rest, env);
      case 'audit':
        return await auditCommand(rest, env);
      case 'health':
        return await healthCommand(rest, env);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command: ${command}\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    const usage =
      err instanceof ConfigError ||
      err instanceof UsageError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    if (usage || (err instanceof DomainError && err.code === 'ERR_INVALID_ARGUMENT')) {
      process.stderr.write(`roomgate: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`roomgate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
