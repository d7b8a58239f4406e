import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { systemClock } from '../domain/clock.js';
import { NO_CACHE } from '../domain/cache-invalidator.js';
import { DomainError } from '../domain/errors.js';
import { ManagementTokenManager } from '../domain/management-token-manager.js';
import { PageTokens } from '../domain/pagination.js';
import { ENVIRONMENTS, SCOPES, type Environment, type Scope } from '../domain/principal.js';
import type { ManagementTokenRecord } from '../domain/records.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/database.js';
import { PgManagementTokenStore } from '../store/management-token-store.js';
import { asCliCommand } from './cli-audit.js';
import { cliLogger, printTable, UsageError } from './output.js';

/** Help text of `roomgate token`. */
export const TOKEN_USAGE = `Usage:
  roomgate token create --environment sandbox|production [--name NAME] [--scope SCOPE ...] [--expires-in 90d]
  roomgate token list --environment sandbox|production
  roomgate token revoke ID [--grace 24h]

create   prints the new management token, and nothing else, on stdout. It is shown once:
         roomgate stores only its SHA-256. Scopes: ${SCOPES.join(', ')} (default: admin).
list     shows id, name, hint, scopes and times; never the tokens.
revoke   stops a token now, or after a grace period (both tokens work while you deploy
         the new one, a "roll").
Durations are a number with s, m, h or d. All commands work with DATABASE_URL and in
embedded mode, whether or not a server is running.`;

function environmentOf(value: string | undefined): Environment {
  if (!value || !ENVIRONMENTS.includes(value as Environment)) {
    throw new UsageError(`--environment must be one of: ${ENVIRONMENTS.join(', ')}`);
  }
  return value as Environment;
}

/** Parses `90d`, `12h`, `30m` or `45s` into seconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d{1,9})([smhd])$/.exec(value);
  if (!match) throw new UsageError(`${flag} must be a number followed by s, m, h or d, such as 90d`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function rows(records: ManagementTokenRecord[], manager: ManagementTokenManager): string[][] {
  const time = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');
  return records.map((r) => [
    r.id,
    r.name || '-',
    r.hint,
    r.scopes.join(','),
    time(r.createdAt),
    time(r.lastUsedAt),
    time(r.expiresAt),
    r.revokedAt ? time(r.revokedAt) : '-',
    manager.isActive(r) ? 'active' : 'inactive',
  ]);
}

/** Runs `roomgate token …`; returns the exit code. */
export async function tokenCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      environment: { type: 'string', short: 'e' },
      name: { type: 'string', short: 'n', default: '' },
      scope: { type: 'string', multiple: true },
      'expires-in': { type: 'string' },
      grace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const asked = values.help || sub === 'help' || sub === '--help' || sub === '-h';
  if (asked || !sub || !['create', 'list', 'revoke'].includes(sub)) {
    process[asked ? 'stdout' : 'stderr'].write(TOKEN_USAGE + '\n');
    return asked ? 0 : 2;
  }
  const environment = sub === 'revoke' ? undefined : environmentOf(values.environment);
  const scopes = (values.scope ?? ['admin']).flatMap((s) => s.split(',')) as Scope[];
  const expiresIn = values['expires-in'] ? parseDuration('--expires-in', values['expires-in']) : undefined;
  const grace = values.grace ? parseDuration('--grace', values.grace) : 0;
  if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('token revoke takes the token id');

  const config = loadConfig(env, { needKeys: false });
  const database = await openDatabase(config, cliLogger(config));
  try {
    // `token list` pages within this process only, so its page tokens need no
    // key shared with the servers (the CLI may run without the KEK).
    const pages = new PageTokens(randomBytes(32));
    const manager = new ManagementTokenManager(new PgManagementTokenStore(database.pool), systemClock, config.limits, NO_CACHE, pages);
    if (sub === 'create') {
      const expiresAt = expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000);
      const { token } = await asCliCommand('token create', environment, () =>
        manager.mint(environment!, { name: values.name ?? '', scopes, expiresAt }),
      );
      process.stdout.write(token + '\n');
    } else if (sub === 'list') {
      const all: ManagementTokenRecord[] = [];
      let pageToken = '';
      do {
        const page = await manager.listIn(environment!, 100, pageToken);
        all.push(...page.items);
        pageToken = page.nextPageToken;
      } while (pageToken);
      printTable(['ID', 'NAME', 'HINT', 'SCOPES', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED', 'STATE'], rows(all, manager));
    } else {
      // A token id is unique across environments; the operator need not name one.
      // The environment whose token it is gets the record (the store names it).
      const record = await asCliCommand('token revoke', undefined, async () => {
        for (const e of ENVIRONMENTS) {
          const found = await manager.revokeIn(e, positionals[0]!, grace).catch((err: unknown) => {
            if (err instanceof DomainError && err.code === 'ERR_MANAGEMENT_TOKEN_NOT_FOUND') return undefined;
            throw err;
          });
          if (found) return found;
        }
        return undefined;
      });
      if (!record) throw new DomainError('ERR_MANAGEMENT_TOKEN_NOT_FOUND', `no management token with id ${positionals[0]}`);
      printTable(['ID', 'NAME', 'HINT', 'SCOPES', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED', 'STATE'], rows([record], manager));
    }
    return 0;
  } finally {
    await database.close();
  }
}
