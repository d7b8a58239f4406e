import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { exportRecords } from '../domain/audit-export.js';
import { verifyChain, type ChainVerdict } from '../domain/audit-verifier.js';
import { ENVIRONMENTS, type Environment } from '../domain/principal.js';
import { openDatabase } from '../store/database.js';
import { PgAuditStore } from '../store/audit-store.js';
import { toAuditEventJson } from '../transport/audit-mapper.js';
import { cliLogger, UsageError } from './output.js';
import { parseDuration } from './token-commands.js';

/** Help text of `roomgate audit`. */
export const AUDIT_USAGE = `Usage:
  roomgate audit verify [--environment sandbox|production]
  roomgate audit export --since TIME [--until TIME] [--environment sandbox|production]

verify   walks each environment's hash chain from its start (or the anchor that retention
         left) and checks every link: the sequence has no gap, each previous_hash is the
         hash before it, each hash matches its record, and the chain head names the last
         record. Prints OK with the count and the head hash, or the first broken link
         (environment, sequence, id, what is wrong) and exits 1.
export   writes the records with since <= time < until to stdout as JSON lines (the
         fields of AuditEvent, hashes included), oldest first.
TIME is an RFC 3339 time (2026-01-31T00:00:00Z) or a duration back from now (24h, 7d;
s, m, h or d). Both commands read one consistent snapshot, batch by batch, and work
whether or not a server is running. Without --environment they cover both.`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 time, or a duration such as 24h meaning that long before `now`. */
export function parseTime(flag: string, value: string, now: Date): Date {
  if (RFC3339.test(value)) {
    const time = new Date(value.replace(' ', 'T'));
    if (!Number.isNaN(time.getTime())) return time;
  } else if (/^\d/.test(value)) {
    try {
      return new Date(now.getTime() - parseDuration(flag, value) * 1000);
    } catch {
      // Reported below, with both forms.
    }
  }
  throw new UsageError(`${flag} must be an RFC 3339 time such as 2026-01-31T00:00:00Z, or a duration such as 24h or 7d`);
}

function environmentsOf(value: string | undefined): readonly Environment[] {
  if (value === undefined) return ENVIRONMENTS;
  if (!ENVIRONMENTS.includes(value as Environment)) throw new UsageError(`--environment must be one of: ${ENVIRONMENTS.join(', ')}`);
  return [value as Environment];
}

/** Writes to stdout, waiting when the pipe is full, so a slow reader holds the export back rather than memory growing. */
async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** The line `roomgate audit verify` prints for one environment. */
export function verdictLine(v: ChainVerdict): string {
  if (!v.ok) return `${v.environment}: BROKEN at sequence ${v.sequence}${v.id ? ` (id ${v.id})` : ' (chain head)'}: ${v.problem}`;
  const anchored = v.firstSequence === '1' ? '' : ', after the retention anchor';
  const span = v.records === 0 ? `no records${anchored}` : `${v.records} records (sequence ${v.firstSequence}-${v.headSequence}${anchored})`;
  return `${v.environment}: OK, ${span}; head ${v.headSequence} ${v.headHash}`;
}

/** Runs `roomgate audit …`; returns the exit code. */
export async function auditCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      environment: { type: 'string', short: 'e' },
      since: { type: 'string' },
      until: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const asked = values.help || sub === 'help' || sub === '--help' || sub === '-h';
  if (asked || (sub !== 'verify' && sub !== 'export')) {
    process[asked ? 'stdout' : 'stderr'].write(AUDIT_USAGE + '\n');
    return asked ? 0 : 2;
  }
  if (positionals.length > 0) throw new UsageError(`audit ${sub} takes no arguments: ${positionals.join(' ')}`);
  const environments = environmentsOf(values.environment);
  const now = new Date();
  let range: { start: Date; end: Date | undefined } | undefined;
  if (sub === 'verify') {
    if (values.since !== undefined || values.until !== undefined) throw new UsageError('--since and --until apply to audit export only');
  } else {
    if (values.since === undefined) throw new UsageError('audit export needs --since (an RFC 3339 time or a duration such as 24h)');
    range = { start: parseTime('--since', values.since, now), end: values.until === undefined ? undefined : parseTime('--until', values.until, now) };
    if (range.end && range.end.getTime() <= range.start.getTime()) throw new UsageError('--until must be after --since');
  }

  const config = loadConfig(env, { needKeys: false });
  const database = await openDatabase(config, cliLogger(config));
  try {
    const store = new PgAuditStore(database.pool);
    if (range) {
      const exportRange = range;
      await store.inSnapshot(async (snapshot) => {
        for await (const record of exportRecords(snapshot, environments, exportRange)) {
          await writeOut(JSON.stringify(toAuditEventJson(record)) + '\n');
        }
      });
      return 0;
    }
    const verdicts = await store.inSnapshot(async (snapshot) => {
      const found = [];
      for (const environment of environments) found.push(await verifyChain(snapshot, environment));
      return found;
    });
    for (const v of verdicts) await writeOut(verdictLine(v) + '\n');
    return verdicts.every((v) => v.ok) ? 0 : 1;
  } finally {
    await database.close();
  }
}
