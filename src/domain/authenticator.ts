import { DomainError } from './errors.js';
import {
  hashManagementToken,
  MANAGEMENT_TOKEN_MARK,
  parseManagementToken,
} from './management-token.js';
import type { Clock } from './clock.js';
import type { Limits } from './limits.js';
import type { Principal } from './principal.js';
import type { ManagementTokenLookup } from './ports/index.js';
import type { TokenManager } from './token-manager.js';

/** Notes that a management token was used, without a database write per call. */
export interface UsageRecorder {
  touch(tokenId: string, at: Date): void;
}

// One message for every failed check, so a caller cannot learn which check a
// forged or stolen token failed (unknown, revoked, expired, bad signature...).
const REJECTED = 'invalid, expired or revoked credentials';

const unauthenticated = (message: string) => new DomainError('ERR_UNAUTHENTICATED', message);

/** Resolves the bearer token of a call into a {@link Principal}. */
export class Authenticator {
  constructor(
    private readonly managementTokens: ManagementTokenLookup,
    private readonly tokens: TokenManager,
    private readonly usage: UsageRecorder,
    private readonly clock: Clock,
    private readonly limits: Pick<Limits, 'maxAuthorizationBytes'>,
  ) {}

  /** Authenticates an `authorization` metadata value (undefined when absent). */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') {
      throw unauthenticated("missing credentials: send metadata 'authorization: Bearer <token>'");
    }
    if (authorization.length > this.limits.maxAuthorizationBytes) {
      throw unauthenticated(`authorization metadata is longer than ${this.limits.maxAuthorizationBytes} bytes`);
    }
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated("authorization metadata must be 'Bearer <token>'");
    const token = match[1];
    return token.startsWith(MANAGEMENT_TOKEN_MARK) ? this.management(token) : this.peer(token);
  }

  private async management(token: string): Promise<Principal> {
    // The checksum rejects typos and junk without touching the database.
    const environment = parseManagementToken(token);
    if (!environment) throw unauthenticated(REJECTED);
    const record = await this.managementTokens.findByHash(hashManagementToken(token));
    const now = this.clock.now();
    if (!record || record.environment !== environment || (record.revokedAt && record.revokedAt <= now) || (record.expiresAt && record.expiresAt <= now)) {
      throw unauthenticated(REJECTED);
    }
    this.usage.touch(record.id, now);
    const endsAt = [record.expiresAt, record.revokedAt].filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0];
    return {
      kind: 'management',
      environment,
      tokenId: record.id,
      tokenName: record.name,
      tokenHint: record.hint,
      scopes: record.scopes,
      endsAt: endsAt ?? null,
    };
  }

  private async peer(token: string): Promise<Principal> {
    const result = await this.tokens.verifyLive(token);
    // A superseded token is let through as such: it may only be refreshed (ensureCan).
    const c = result.valid || result.reason === 'SUPERSEDED' ? result.claims : undefined;
    if (!c) throw unauthenticated(REJECTED);
    return {
      kind: 'peer',
      environment: c.environment,
      roomId: c.roomId,
      peerId: c.peerId,
      permissions: c.permissions,
      tokenId: c.tokenId,
      superseded: !result.valid,
    };
  }
}
