import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError, invalidArgument } from './errors.js';
import type { Limits } from './limits.js';
import { mintManagementToken } from './management-token.js';
import type { Page, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import { SCOPES, type Environment, type Principal, type Scope } from './principal.js';
import type { ManagementTokenRecord } from './records.js';
import { thenInvalidate, type CacheInvalidator } from './cache-invalidator.js';
import type { ManagementTokenStore } from './ports/index.js';
import * as v from './validation.js';

/** Longest grace period of a revocation: long enough to deploy a new token, short enough to matter. */
export const MAX_REVOKE_GRACE_SECONDS = 30 * 86_400;

/** Input of CreateManagementToken. */
export interface CreateManagementTokenInput {
  name: string;
  scopes: Scope[];
  expiresAt: Date | null;
}

/** Issues, lists and revokes management tokens. The token text is returned once; only its hash is kept. */
export class ManagementTokenManager {
  constructor(
    private readonly store: ManagementTokenStore,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly invalidate: CacheInvalidator,
    private readonly pages: PageTokens,
  ) {}

  /** Creates a token in the caller's environment (admin only). */
  async create(principal: Principal, input: CreateManagementTokenInput): Promise<{ token: string; record: ManagementTokenRecord }> {
    ensureCan(principal, 'management-token:manage');
    if (principal.kind !== 'management') throw new Error('unreachable: ensureCan admits management tokens only');
    // A token may not hand out more than it holds. Scopes are covered by
    // ensureCan: only admin tokens create tokens, and admin implies every
    // scope. Time is not: an admin token about to expire (or in a
    // revocation's grace period) could mint one that never expires.
    const endsAt = principal.endsAt ?? null;
    if (endsAt && (input.expiresAt === null || input.expiresAt.getTime() > endsAt.getTime())) {
      throw new DomainError(
        'ERR_PERMISSION_DENIED',
        `expire_time: the calling token stops working at ${endsAt.toISOString()}; a token it creates must expire no later (set expire_time)`,
      );
    }
    return this.mint(principal.environment, input);
  }

  /**
   * Creates a token with no caller: the operator's CLI, which holds the
   * database credentials and so is already trusted with everything.
   */
  async mint(environment: Environment, input: CreateManagementTokenInput): Promise<{ token: string; record: ManagementTokenRecord }> {
    const name = v.text('name', input.name, this.limits);
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw invalidArgument('scopes', `at least one is required (${SCOPES.join(', ')})`);
    if (scopes.some((s) => !SCOPES.includes(s))) throw invalidArgument('scopes', `must be among ${SCOPES.join(', ')}`);
    // A Timestamp past what a JavaScript Date holds decodes to an Invalid Date.
    if (input.expiresAt && !(input.expiresAt.getTime() < Date.UTC(10000, 0, 1))) {
      throw invalidArgument('expire_time', 'must be a time before the year 10000');
    }
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now().getTime()) {
      throw invalidArgument('expire_time', 'must be in the future');
    }
    const minted = mintManagementToken(environment);
    const record = await this.store.insert({
      id: randomUUID(),
      environment,
      name,
      scopes,
      expiresAt: input.expiresAt,
      hash: minted.hash,
      hint: minted.hint,
    });
    return { token: minted.token, record };
  }

  /** Lists the caller's environment's tokens, oldest first. */
  async list(principal: Principal, pageSize: number, pageToken: string): Promise<Page<ManagementTokenRecord>> {
    ensureCan(principal, 'management-token:manage');
    return this.listIn(principal.environment, pageSize, pageToken);
  }

  /** Lists an environment's tokens with no caller (the CLI). */
  async listIn(environment: Environment, pageSize: number, pageToken: string): Promise<Page<ManagementTokenRecord>> {
    const size = v.pageSize(pageSize, this.limits);
    const scope = { environment, list: 'management-tokens' } as const;
    return this.pages.page(scope, await this.store.list(environment, this.pages.decode(scope, pageToken), size + 1), size);
  }

  /**
   * The caller's own token, as stored: any management token may read itself
   * (a console shows what it may do before it tries). Its last use is written
   * at most once a minute, so it may predate this very call.
   */
  async current(principal: Principal): Promise<ManagementTokenRecord> {
    ensureCan(principal, 'management-token:read-own');
    if (principal.kind !== 'management') throw new Error('unreachable: ensureCan admits management tokens only');
    const record = await this.store.find(principal.environment, principal.tokenId);
    // Authenticated a moment ago, so only a purge in between gets here.
    if (!record) throw new DomainError('ERR_MANAGEMENT_TOKEN_NOT_FOUND', 'management token not found');
    return record;
  }

  /** Revokes a token now, or after `graceSeconds` (a "roll": both work while the new one is deployed). */
  async revoke(principal: Principal, id: string, graceSeconds: number): Promise<ManagementTokenRecord> {
    ensureCan(principal, 'management-token:manage');
    return this.revokeIn(principal.environment, id, graceSeconds);
  }

  /** Revokes a token of `environment` with no caller (the CLI). */
  async revokeIn(environment: Environment, id: string, graceSeconds: number): Promise<ManagementTokenRecord> {
    v.requireId('id', id);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_REVOKE_GRACE_SECONDS) {
      throw invalidArgument('grace_seconds', `must be between 0 and ${MAX_REVOKE_GRACE_SECONDS} (30 days)`);
    }
    const at = new Date(this.clock.now().getTime() + graceSeconds * 1000);
    const record = await thenInvalidate(this.store.revoke(environment, id, at), () => this.invalidate.managementToken(id));
    if (!record) throw new DomainError('ERR_MANAGEMENT_TOKEN_NOT_FOUND', 'management token not found');
    return record;
  }

  /** Whether the token works now: not revoked (or still in its grace period) and not expired. */
  isActive(record: ManagementTokenRecord): boolean {
    const now = this.clock.now().getTime();
    return !(record.revokedAt && record.revokedAt.getTime() <= now) && !(record.expiresAt && record.expiresAt.getTime() <= now);
  }

  /**
   * Creates an admin sandbox token only if the database has no management
   * token at all: the first start of an embedded install. Returns it, or undefined.
   */
  async bootstrap(): Promise<string | undefined> {
    const minted = mintManagementToken('sandbox');
    const inserted = await this.store.insertIfNone({
      id: randomUUID(),
      environment: 'sandbox',
      name: 'bootstrap',
      scopes: ['admin'],
      expiresAt: null,
      hash: minted.hash,
      hint: minted.hint,
    });
    return inserted ? minted.token : undefined;
  }
}
