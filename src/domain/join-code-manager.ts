import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError, invalidArgument, throwIt } from './errors.js';
import {
  joinCodeInvalid,
  type JoinCodeHasher,
  type JoinCodeKind,
  type JoinCodeRecord,
  type JoinCodeSettings,
  type RedeemableJoinCode,
} from './join-codes.js';
import type { Limits } from './limits.js';
import type { Page, PageTokens } from './pagination.js';
import type { PeerManager } from './peer-manager.js';
import type { IssuedPeerToken } from './peer-token.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { PeerRecord } from './records.js';
import type { JoinCodeStore, JoinRateLimiter } from './ports/index.js';
import * as v from './validation.js';

/** Input of CreateJoinCode, as received; kind undefined is a value the wire does not know. */
export interface CreateJoinCodeInput {
  roomId: string;
  role: string;
  expireTime: Date | undefined;
  maxUses: number;
  identity: string;
  kind: JoinCodeKind | undefined;
  appUrl: string;
  description: string;
}

/** Input of RedeemJoinCode, as received. */
export interface RedeemJoinCodeInput {
  code: string;
  displayName: string;
  requireAppUrl: boolean;
}

/** What RedeemJoinCode returns: the peer, its first token, and where to hand the token on ('' for nowhere). */
export type Redemption = { peer: PeerRecord; appUrl: string } & IssuedPeerToken;

/** Most uses one code may have. */
export const MAX_JOIN_CODE_USES = 10_000;
/** Longest description, in characters. */
export const MAX_JOIN_CODE_DESCRIPTION_LENGTH = 512;
/** Longest display name a redeemer may give, in characters. */
export const MAX_DISPLAY_NAME_LENGTH = 128;
const MAX_APP_URL_LENGTH = 2048;

const notFound = () => new DomainError('ERR_JOIN_CODE_NOT_FOUND', 'join code not found');

/** Join code use cases: making, listing and revoking codes, and redeeming them for peers. */
export class JoinCodeManager {
  constructor(
    private readonly store: JoinCodeStore,
    private readonly peers: PeerManager,
    private readonly hasher: JoinCodeHasher,
    private readonly rateLimiter: JoinRateLimiter,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly settings: JoinCodeSettings,
    private readonly pages: PageTokens,
  ) {}

  /** Makes a code; the code itself is in the result only, never stored. */
  async create(principal: Principal, input: CreateJoinCodeInput): Promise<{ record: JoinCodeRecord; code: string; joinUrl: string }> {
    const roomId = v.requireId('room_id', input.roomId);
    ensureCan(principal, 'join-code:manage', { roomId });
    const role = v.text('role', input.role, this.limits, { required: true });
    const kind = input.kind ?? throwIt(invalidArgument('kind', 'must be JOIN_CODE_KIND_LINK or JOIN_CODE_KIND_SHORT'));
    const expiresAt = this.expiry(input.expireTime, kind);
    if (!Number.isInteger(input.maxUses) || input.maxUses < 0 || input.maxUses > MAX_JOIN_CODE_USES) {
      throw invalidArgument('max_uses', `must be between 1 and ${MAX_JOIN_CODE_USES} (0 means 1)`);
    }
    const minted = this.hasher.mint(kind);
    const record = await this.store.create(
      {
        id: randomUUID(),
        environment: principal.environment,
        roomId,
        role,
        kind,
        hash: minted.hash,
        hint: minted.hint,
        // Validated as CreatePeer validates an identity: it becomes one.
        identity: v.text('identity', input.identity, this.limits),
        maxUses: input.maxUses === 0 ? 1 : input.maxUses,
        appUrl: v.description('app_url', input.appUrl, MAX_APP_URL_LENGTH),
        description: v.description('description', input.description, MAX_JOIN_CODE_DESCRIPTION_LENGTH),
        expiresAt,
      },
      { all: this.settings.maxPerEnvironment, short: this.settings.maxShortPerEnvironment },
    );
    const base = this.settings.publicUrl.replace(/\/+$/, '');
    return { record, code: minted.code, joinUrl: base === '' ? '' : `${base}/join/${minted.code}` };
  }

  private expiry(expireTime: Date | undefined, kind: JoinCodeKind): Date {
    if (!expireTime) throw invalidArgument('expire_time', 'is required: a join code must expire');
    const seconds = (expireTime.getTime() - this.clock.now().getTime()) / 1000;
    if (seconds <= 0) throw invalidArgument('expire_time', 'must be in the future');
    const [max, setting] =
      kind === 'short'
        ? [this.settings.shortMaxTtlSeconds, 'ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS']
        : [this.settings.maxTtlSeconds, 'ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS'];
    if (seconds > max) {
      throw invalidArgument('expire_time', `is ${Math.ceil(seconds)} seconds away; a ${kind} code may live at most ${max} seconds (${setting})`);
    }
    return expireTime;
  }

  /** Returns one code. */
  async get(principal: Principal, id: string): Promise<JoinCodeRecord> {
    v.requireId('id', id);
    ensureCan(principal, 'join-code:read');
    return (await this.store.get(principal.environment, id)) ?? throwIt(notFound());
  }

  /** Lists codes newest first, of one room when roomId is set. */
  async list(principal: Principal, roomId: string, pageSize: number, pageToken: string): Promise<Page<JoinCodeRecord>> {
    const room = roomId === '' ? undefined : v.requireId('room_id', roomId);
    ensureCan(principal, 'join-code:read');
    const size = v.pageSize(pageSize, this.limits);
    const scope = { environment: principal.environment, list: 'join-codes', within: room ?? '' } as const;
    const rows = await this.store.list(principal.environment, { roomId: room }, this.pages.decode(scope, pageToken), size + 1);
    return this.pages.page(scope, rows, size);
  }

  /** Revokes a code at once; revoking it again returns it unchanged. */
  async revoke(principal: Principal, id: string): Promise<JoinCodeRecord> {
    v.requireId('id', id);
    ensureCan(principal, 'join-code:manage');
    return (await this.store.revoke(principal.environment, id)) ?? throwIt(notFound());
  }

  /**
   * Redeems a code for a new peer with the code's role. `clientKey` names
   * the caller for the rate limits, which count every attempt before the
   * code is looked up. Every reason a code does not work is one error.
   */
  async redeem(input: RedeemJoinCodeInput, clientKey: string): Promise<Redemption> {
    const name = v.text('display_name', input.displayName, { ...this.limits, maxIdentityLength: MAX_DISPLAY_NAME_LENGTH }, { required: true });
    const { normalized, hash } = this.hasher.hashTyped(input.code);
    await this.rateLimiter.attempt(clientKey, hash);
    const found = (normalized && (await this.store.findRedeemable(hash))) || throwIt(joinCodeInvalid());
    const appUrl = resolveAppUrl(found, input.requireAppUrl);
    const { code, role } = found;
    const id = randomUUID();
    const ttl = Math.min(role.tokenTtlSeconds, this.limits.maxTokenTtlSeconds, this.limits.maxPeerSessionSeconds);
    const draft = {
      id,
      roomId: code.roomId,
      environment: code.environment,
      // A personal invite's identity, or else the peer id, unique by construction.
      identity: code.identity === '' ? id : code.identity,
      name,
      metadata: role.metadata,
      permissions: role.permissions,
      role: role.name,
      roleId: role.id,
    };
    const admitted = await this.peers.admit(draft, ttl, (peer) => this.store.redeem(code, peer));
    return { ...admitted, appUrl };
  }
}

/**
 * Where the redeemer's token goes: the code's app URL while it is still
 * allowed, else the environment's first. With `required`, a code with no
 * such URL fails here, before its use is counted.
 */
function resolveAppUrl({ code, appUrls }: RedeemableJoinCode, required: boolean): string {
  if (code.appUrl !== '') {
    if (appUrls.includes(code.appUrl)) return code.appUrl;
    if (!required) return '';
    throw new DomainError(
      'ERR_APP_URL_NOT_ALLOWED',
      "the join code's app URL is no longer one of the environment's allowed app URLs; ask for a new code",
    );
  }
  const first = appUrls[0];
  if (first === undefined && required) {
    throw new DomainError('ERR_NO_APP_URL', 'the environment has no allowed app URL to hand the token to; ask its administrator to add one');
  }
  return first ?? '';
}
