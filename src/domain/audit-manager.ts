import { invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import type { Page, PageScope, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { AuditFilter, AuditStore, ListedAuditRecord } from './ports/index.js';
import * as v from './validation.js';

/** Input of ListAuditEvents, as received; an unset time is undefined. */
export interface ListAuditEventsInput {
  pageSize: number;
  pageToken: string;
  actorId: string;
  targetId: string;
  method: string;
  startTime: Date | undefined;
  endTime: Date | undefined;
}

// google.protobuf.Timestamp's own range: 0001-01-01 to 9999-12-31.
const MIN_TIME = new Date('0001-01-01T00:00:00Z').getTime();
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function time(field: string, value: Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = value.getTime();
  if (!(ms >= MIN_TIME && ms <= MAX_TIME)) throw invalidArgument(field, 'must be between 0001-01-01 and 9999-12-31');
  return value;
}

/** Reading the audit log: ListAuditEvents. */
export class AuditManager {
  constructor(
    private readonly store: AuditStore,
    private readonly limits: Limits,
    private readonly pages: PageTokens,
  ) {}

  /**
   * Lists the caller's environment's records, newest first. The page token is
   * bound to the filters: a token of one query is refused by another.
   */
  async list(principal: Principal, input: ListAuditEventsInput): Promise<Page<ListedAuditRecord>> {
    ensureCan(principal, 'audit:read');
    const size = v.pageSize(input.pageSize, this.limits);
    const start = time('start_time', input.startTime);
    const end = time('end_time', input.endTime);
    if (start && end && end.getTime() <= start.getTime()) throw invalidArgument('end_time', 'must be after start_time');
    const filter: AuditFilter = {
      ...(input.actorId !== '' && { actorId: v.text('actor_id', input.actorId, this.limits) }),
      ...(input.targetId !== '' && { targetId: v.text('target_id', input.targetId, this.limits) }),
      ...(input.method !== '' && { method: v.text('method', input.method, this.limits) }),
      ...(start && { start }),
      ...(end && { end }),
    };
    const within = JSON.stringify([filter.actorId ?? '', filter.targetId ?? '', filter.method ?? '', start?.getTime() ?? '', end?.getTime() ?? '']);
    const scope: PageScope = { environment: principal.environment, list: 'audit-events', within };
    const rows = await this.store.list(principal.environment, filter, this.pages.decode(scope, input.pageToken), size + 1);
    return this.pages.page(scope, rows, size);
  }
}
