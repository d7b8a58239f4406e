import type pg from 'pg';
import { auditChange, auditRefusal } from '../context/audit-scope.js';
import type { AuditTarget } from '../domain/audit-record.js';
import type { Environment } from '../domain/principal.js';
import type { AuditTrail } from '../domain/ports/index.js';
import { withTransaction } from './pool.js';

/** {@link AuditTrail} on Postgres: a transaction holding nothing but the record (withTransaction appends it). */
export class PgAuditTrail implements AuditTrail {
  constructor(private readonly pool: pg.Pool) {}

  async recordAlone(environment: Environment, targets: AuditTarget[]): Promise<void> {
    await withTransaction(this.pool, async () => auditChange(environment, ...targets));
  }

  async recordRefusal(errorReason: string): Promise<void> {
    await withTransaction(this.pool, async () => auditRefusal(errorReason));
  }
}
