import { randomUUID } from 'node:crypto';
import { mintManagementToken } from './management-token.js';
import type { Environment } from './principal.js';
import type { ManagementTokenRecord } from './records.js';
import type { ManagementTokenStore } from './stores.js';

/** Issues management tokens. The token is returned once and only its hash is kept. */
export class ManagementTokenManager {
  constructor(private readonly store: ManagementTokenStore) {}

  /** Creates a token in `environment`. */
  async create(environment: Environment, name: string): Promise<{ token: string; record: ManagementTokenRecord }> {
    const minted = mintManagementToken(environment);
    const record = await this.store.insert({ id: randomUUID(), environment, name, hash: minted.hash, hint: minted.hint });
    return { token: minted.token, record };
  }

  /**
   * Creates a sandbox token only if the database has no management token at
   * all: the first start of an embedded install. Returns it, or undefined.
   */
  async bootstrap(): Promise<string | undefined> {
    const minted = mintManagementToken('sandbox');
    const inserted = await this.store.insertIfNone({
      id: randomUUID(),
      environment: 'sandbox',
      name: 'bootstrap',
      hash: minted.hash,
      hint: minted.hint,
    });
    return inserted ? minted.token : undefined;
  }
}
