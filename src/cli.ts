import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { ManagementTokenManager } from './domain/management-token-manager.js';
import { ENVIRONMENTS, type Environment } from './domain/principal.js';
import { openDatabase, startRoomgate } from './main.js';
import { PgManagementTokenStore } from './store/management-token-store.js';

const USAGE = `roomgate: gRPC control plane for real-time media rooms

Usage:
  roomgate serve                      serve gRPC (embedded Postgres unless DATABASE_URL is set)
  roomgate migrate                    apply database migrations and exit
  roomgate token create --environment sandbox|production [--name NAME]
                                      create a management token; prints only the token on stdout
  roomgate help                       show this help

Configuration comes from the environment; see README.md.`;

const TOKEN_USAGE = `Usage: roomgate token create --environment sandbox|production [--name NAME]

Creates a management token and prints it, and nothing else, on stdout. It is
shown once: roomgate stores only its SHA-256. Works with DATABASE_URL and in
embedded mode, whether or not a server is running.`;

function logger(config: Config, destination: 1 | 2): Logger {
  return pino({ level: config.logLevel, base: { service: 'roomgate' } }, pino.destination(destination));
}

function banner(token: string): string {
  const line = '='.repeat(78);
  return [
    line,
    ' roomgate created a sandbox management token on this first start.',
    ' It is shown ONCE and stored only as a hash. Keep it secret; use it as',
    "   authorization: Bearer <token>",
    '',
    ` ${token}`,
    line,
    '',
  ].join('\n');
}

async function serve(config: Config): Promise<number> {
  const log = logger(config, 1);
  const roomgate = await startRoomgate(config, log);
  if (roomgate.bootstrapToken) process.stdout.write(banner(roomgate.bootstrapToken));
  log.info(
    { address: config.grpcAddress, port: roomgate.port, database: roomgate.database.embedded ? 'embedded' : 'external' },
    'roomgate serving',
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      // A second signal means "now": skip the grace period.
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'shutting down');
      roomgate.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

async function migrateOnly(config: Config): Promise<number> {
  const database = await openDatabase(config, logger(config, 2));
  await database.close();
  process.stderr.write('migrations applied\n');
  return 0;
}

async function createToken(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      environment: { type: 'string', short: 'e' },
      name: { type: 'string', short: 'n', default: '' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(TOKEN_USAGE + '\n');
    return 0;
  }
  const environment = values.environment as Environment | undefined;
  if (!environment || !ENVIRONMENTS.includes(environment)) {
    process.stderr.write(`--environment must be one of: ${ENVIRONMENTS.join(', ')}\n\n${TOKEN_USAGE}\n`);
    return 2;
  }
  const config = loadConfig(env, { needKeys: false });
  const database = await openDatabase(config, logger(config, 2));
  try {
    const { token } = await new ManagementTokenManager(new PgManagementTokenStore(database.pool)).create(
      environment,
      values.name ?? '',
    );
    process.stdout.write(token + '\n');
    return 0;
  } finally {
    await database.close();
  }
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(loadConfig(env));
      case 'migrate':
        return await migrateOnly(loadConfig(env, { needKeys: false }));
      case 'token':
        if (rest[0] === 'create') return await createToken(rest.slice(1), env);
        process.stderr.write(TOKEN_USAGE + '\n');
        return rest[0] === '--help' || rest[0] === '-h' ? 0 : 2;
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
    if (err instanceof ConfigError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`roomgate: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`roomgate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
