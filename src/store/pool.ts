import pg from 'pg';
import { auditFrame, auditRecorded, pendingAuditRecord } from '../context/audit-scope.js';
import { callDeadline } from '../context/call-deadline.js';
import { DomainError } from '../domain/errors.js';
import { appendAuditRecord } from './audit-append.js';
import { cancelBackend } from './cancel-backend.js';
import { mapPgError } from './pg-errors.js';

/** Options for {@link createPool}. */
export interface PoolOptions {
  connectionString: string;
  max: number;
  /**
   * The longest any statement on the pool's connections may run, in
   * milliseconds; 0 for no limit. Sent as a startup parameter, so it costs no
   * round trip. A call's deadline tightens it, never loosens it.
   */
  statementTimeoutMs?: number;
  /** Called for errors on idle clients, which would otherwise crash the process. */
  onError: (err: Error) => void;
  /**
   * The connection string is a transaction-mode pooler (PgBouncer
   * pool_mode=transaction), which hands each transaction, or each statement
   * outside one, to whichever server connection is free. Nothing may then
   * live in the session: {@link PreparedStatement}s run unnamed (still
   * parameterized), and the statement timeout, which PgBouncer refuses as a
   * startup parameter (08P01), is applied per transaction with `SET LOCAL`
   * and per single statement with a CancelRequest, which PgBouncer forwards
   * to the server connection its client is using.
   */
  transactionPooling?: boolean;
}

/** The statement limit of each pool created with transactionPooling, which pg then does not carry. */
const pooledLimits = new WeakMap<pg.Pool, number>();
/** Clients of such pools: they run prepared statements unnamed. */
const pooledClients = new WeakSet<pg.PoolClient>();

/** The one pg.Pool of a process. */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'roomgate',
    // pg sends no parameter for 0, leaving the server's own default.
    statement_timeout: options.transactionPooling ? 0 : (options.statementTimeoutMs ?? 0),
  });
  pool.on('error', options.onError);
  if (options.transactionPooling) {
    pooledLimits.set(pool, options.statementTimeoutMs ?? 0);
    pool.on('connect', (client) => pooledClients.add(client));
  }
  // pg-pool listens for errors on idle clients only. A client checked out when
  // its connection drops (Postgres restarting) still emits 'error', which with
  // no listener would crash the process; its queries fail anyway, and the pool
  // discards it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

// Statements stop this long before the call's deadline, so that the rollback
// and the DEADLINE_EXCEEDED reply still reach a client that is about to give up.
const DEADLINE_MARGIN_MS = 20;

/**
 * Milliseconds the current call's deadline leaves a statement, after the
 * margin; undefined outside a call, for a call without a deadline, and when
 * the pool's own statement timeout is the tighter one. Throws ERR_DB_TIMEOUT
 * (DEADLINE_EXCEEDED) when no time is left, before the database is asked.
 */
function statementBudgetMs(poolLimitMs: number): number | undefined {
  const deadline = callDeadline();
  if (deadline === undefined) return undefined;
  const ms = Math.floor(deadline - Date.now() - DEADLINE_MARGIN_MS);
  if (ms < 1) throw new DomainError('ERR_DB_TIMEOUT', 'the deadline passed before the database was asked');
  return poolLimitMs > 0 && ms >= poolLimitMs ? undefined : ms;
}

function poolLimitMs(pool: pg.Pool): number {
  return pooledLimits.get(pool) ?? (Number(pool.options.statement_timeout) || 0);
}

async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (err) {
    throw mapPgError(err);
  }
}

/**
 * A statement of the hot path that each connection parses and plans once, then
 * runs by name. Its text must never change at run time (no interpolated
 * values): the name stands for the text on every connection.
 */
export interface PreparedStatement {
  name: string;
  text: string;
}

/** Names `text` as a {@link PreparedStatement}. */
export function prepared(name: string, text: string): PreparedStatement {
  return { name: `roomgate_${name}`, text };
}

/**
 * Runs one statement, mapping database failures to domain errors. Under a
 * call's deadline, a statement on the pool is cancelled on the server when the
 * deadline comes (a statement in a transaction is bounded by
 * {@link withTransaction} instead), and none starts once it has passed.
 */
export async function query<R extends pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  statement: string | PreparedStatement,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const pool = db instanceof pg.Pool ? db : undefined;
  const pooled = pool ? pooledLimits.has(pool) : pooledClients.has(db as pg.PoolClient);
  // A name would stand for the text on one server connection, and the next
  // statement may run on another, which has it under no name (26000) or, from
  // another client, already has it (42P05).
  const text = typeof statement === 'string' ? statement : statement.text;
  const config = typeof statement === 'string' || pooled ? { text, values } : { ...statement, values };
  const limitMs = pool ? poolLimitMs(pool) : 0;
  const budgetMs = statementBudgetMs(limitMs);
  if (pool && budgetMs !== undefined) return queryBefore<R>(pool, config);
  // With no session limit on the server, the pool's own is a cancel timer.
  if (pool && pooled && limitMs > 0) return queryBefore<R>(pool, config, limitMs);
  try {
    return await db.query<R>(config);
  } catch (err) {
    throw mapPgError(err);
  }
}

/**
 * A pool statement cancelled when the call's deadline comes, or, through a
 * transaction pooler, when `limitMs` (the pool's statement limit) passes. `SET
 * statement_timeout` would cost a round trip before every read, and cannot
 * share one with a statement that has parameters; a CancelRequest costs
 * nothing unless the deadline is reached. A connection that was sent one is
 * destroyed rather than reused, since a cancel that arrives late would hit
 * whatever statement runs on it next.
 */
async function queryBefore<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  config: pg.QueryConfig,
  limitMs?: number,
): Promise<pg.QueryResult<R>> {
  const client = await connect(pool);
  let cancelled: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Waiting for a free connection may have used up the budget.
    const budgetMs = statementBudgetMs(limitMs ?? 0) ?? limitMs;
    if (budgetMs !== undefined) {
      timer = setTimeout(() => {
        cancelled = new Error('statement cancelled at the call deadline');
        cancelBackend(client);
      }, budgetMs);
    }
    return await client.query<R>(config);
  } catch (err) {
    throw mapPgError(err);
  } finally {
    clearTimeout(timer);
    client.release(cancelled);
  }
}

/**
 * Runs `fn` in one transaction on one client: COMMIT when it resolves, ROLLBACK
 * when it throws, and the client released in every case. A client whose
 * ROLLBACK fails is destroyed rather than returned to the pool. When `fn`
 * named a change of an audited call (auditChange), the call's audit record
 * is appended just before COMMIT, in the same transaction.
 *
 * Under a call's deadline, each statement of the transaction may run at most
 * the time the deadline left at BEGIN (`SET LOCAL statement_timeout`, sent
 * with BEGIN in one simple-protocol message, so it adds no round trip), and no
 * statement starts once the deadline has passed. A transaction can therefore
 * outlive the deadline only by the rest of the statement running when it
 * passed, and never by more than that limit.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const limitMs = poolLimitMs(pool);
  // Fails fast, before taking a connection, when the deadline has passed.
  statementBudgetMs(limitMs);
  const client = await connect(pool);
  let budgetMs: number | undefined;
  try {
    budgetMs = statementBudgetMs(limitMs);
  } catch (err) {
    client.release();
    throw err;
  }
  // Through a transaction pooler the session carries no limit, so the
  // transaction sets the pool's own.
  if (budgetMs === undefined && pooledLimits.has(pool) && limitMs > 0) budgetMs = limitMs;
  let broken: Error | undefined;
  try {
    await query(client, budgetMs === undefined ? 'BEGIN' : `BEGIN; SET LOCAL statement_timeout = ${budgetMs}`);
    const { frame, result } = auditFrame(() => fn(client));
    const value = await result;
    // The audit record goes last: its chain head's lock serializes the
    // environment's changes until COMMIT (see audit-append.ts).
    const record = pendingAuditRecord(frame);
    if (record) await appendAuditRecord(client, record);
    await query(client, 'COMMIT');
    if (record && frame) auditRecorded(frame);
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw mapPgError(err);
  } finally {
    client.release(broken);
  }
}
