import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { callDeadline, withCallDeadline } from '../../src/context/call-deadline.js';
import { DomainError } from '../../src/domain/errors.js';
import { query, withTransaction } from '../../src/store/pool.js';

describe('withCallDeadline', () => {
  it('makes the deadline visible across awaits inside the call, and only there', async () => {
    const deadline = Date.now() + 5_000;
    expect(callDeadline()).toBeUndefined();
    const seen = await withCallDeadline(deadline, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return callDeadline();
    });
    expect(seen).toBe(deadline);
    expect(callDeadline()).toBeUndefined();
  });

  it('sets none for a call without a deadline', async () => {
    expect(await withCallDeadline(Infinity, async () => callDeadline())).toBeUndefined();
  });

  it('stops applying to work the call started once the call has settled', async () => {
    let later: Promise<number | undefined> | undefined;
    await withCallDeadline(Date.now() + 5_000, async () => {
      // A timer set during the call inherits its context, as LastUsedTracker's does.
      later = new Promise((resolve) => setTimeout(() => resolve(callDeadline()), 20));
    });
    expect(await later).toBeUndefined();
  });
});

describe('the store under a spent deadline', () => {
  // A pool that never connects: any use of it would show as a call to connect.
  const pool = () => {
    const p = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    const connect = vi.spyOn(p, 'connect');
    const direct = vi.spyOn(p, 'query');
    return { p, touched: () => connect.mock.calls.length + direct.mock.calls.length };
  };
  const spent = () => Date.now() + 5;

  it('fails a transaction with ERR_DB_TIMEOUT before taking a connection', async () => {
    const { p, touched } = pool();
    const err = await withCallDeadline(spent(), () => withTransaction(p, async () => 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('ERR_DB_TIMEOUT');
    expect(touched()).toBe(0);
  });

  it('fails a single statement with ERR_DB_TIMEOUT before taking a connection', async () => {
    const { p, touched } = pool();
    const err = await withCallDeadline(spent(), () => query(p, 'SELECT 1')).catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('ERR_DB_TIMEOUT');
    expect(touched()).toBe(0);
  });
});
