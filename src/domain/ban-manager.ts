import { randomUUID } from 'node:crypto';
import { banDuration, banIdentity, banNotFound, banReason, invalidateAfterBan, type BanRecord } from './bans.js';
import type { CacheInvalidator } from './cache-invalidator.js';
import { throwIt } from './errors.js';
import type { Limits } from './limits.js';
import type { Page, PageScope, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { BanFilter, BanStore } from './ports/index.js';
import * as v from './validation.js';

/** Input of CreateBan, as received. */
export interface CreateBanInput {
  identity: string;
  roomId: string;
  durationSeconds: number;
  reason: string;
}

/** Input of ListBans, as received. */
export interface ListBansInput {
  pageSize: number;
  pageToken: string;
  roomId: string;
  identity: string;
}

/** Ban use cases: validation, authorization, the store, and the caches of the peers a ban deletes. */
export class BanManager {
  constructor(
    private readonly bans: BanStore,
    private readonly limits: Limits,
    private readonly invalidate: CacheInvalidator,
    private readonly pages: PageTokens,
  ) {}

  /** Bans an identity from a room or the environment, deleting its peers there; returns the ban and how many peers went. */
  async create(principal: Principal, input: CreateBanInput): Promise<{ ban: BanRecord; deletedPeerCount: number }> {
    ensureCan(principal, 'ban:manage');
    const identity = banIdentity(input.identity, this.limits);
    const roomId = input.roomId === '' ? null : v.requireId('room_id', input.roomId);
    const durationSeconds = banDuration('duration_seconds', input.durationSeconds);
    const reason = banReason('reason', input.reason, this.limits);
    const outcome = await invalidateAfterBan(
      this.bans.create(
        { id: randomUUID(), environment: principal.environment, identity, roomId, durationSeconds, reason },
        this.limits.maxBansPerEnvironment,
      ),
      this.invalidate,
    );
    return { ban: outcome.ban, deletedPeerCount: outcome.deletedPeerIds.length };
  }

  /** Returns one active ban of the caller's environment. */
  async get(principal: Principal, banId: string): Promise<BanRecord> {
    v.requireId('ban_id', banId);
    ensureCan(principal, 'ban:read');
    return (await this.bans.get(principal.environment, banId)) ?? throwIt(banNotFound());
  }

  /** Lists active bans, newest first; the page token is bound to the filters. */
  async list(principal: Principal, input: ListBansInput): Promise<Page<BanRecord>> {
    ensureCan(principal, 'ban:read');
    const size = v.pageSize(input.pageSize, this.limits);
    const filter: BanFilter = {
      ...(input.roomId !== '' && { roomId: v.requireId('room_id', input.roomId) }),
      ...(input.identity !== '' && { identity: banIdentity(input.identity, this.limits) }),
    };
    const scope: PageScope = { environment: principal.environment, list: 'bans', within: JSON.stringify([filter.roomId ?? '', filter.identity ?? '']) };
    const rows = await this.bans.list(principal.environment, filter, this.pages.decode(scope, input.pageToken), size + 1);
    return this.pages.page(scope, rows, size);
  }

  /** Lifts an active ban (ban_lifted); the identity may join again. */
  async lift(principal: Principal, banId: string): Promise<BanRecord> {
    v.requireId('ban_id', banId);
    ensureCan(principal, 'ban:manage');
    return (await this.bans.lift(principal.environment, banId)) ?? throwIt(banNotFound());
  }
}
