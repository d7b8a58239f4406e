import type { Environment } from '../principal.js';
import type { ManagementTokenRecord } from '../records.js';

/** Input for ManagementTokenStore.insert. */
export type NewManagementToken = Pick<ManagementTokenRecord, 'id' | 'environment' | 'name' | 'hint' | 'scopes' | 'expiresAt'> & {
  hash: Buffer;
};

/** Looks a management token up by the SHA-256 of its text. */
export interface ManagementTokenLookup {
  findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined>;
}

/** Management tokens; only hashes are stored. */
export interface ManagementTokenStore extends ManagementTokenLookup {
  insert(token: NewManagementToken): Promise<ManagementTokenRecord>;
  /** Inserts only if no token exists at all (first start); returns whether it did. */
  insertIfNone(token: NewManagementToken): Promise<boolean>;
  /** The token `id` of `environment`; undefined when there is none. */
  find(environment: Environment, id: string): Promise<ManagementTokenRecord | undefined>;
  list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<ManagementTokenRecord[]>;
  /** Sets the revocation time (keeping an earlier one); undefined when no such token. */
  revoke(environment: Environment, id: string, at: Date): Promise<ManagementTokenRecord | undefined>;
  /** Records last-use times in one write. */
  recordUse(entries: Map<string, Date>): Promise<void>;
}
