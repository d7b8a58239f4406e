import type { Environment } from '../principal.js';

/** Persistence of each environment's join settings (the allowed app URLs). */
export interface JoinSettingsStore {
  /** The environment's allowed app URLs, in order; empty when it has none. */
  appUrls(environment: Environment): Promise<string[]>;
  /** Replaces the environment's allowed app URLs with `urls` (already valid), in one audited transaction; returns them as stored. */
  replaceAppUrls(environment: Environment, urls: readonly string[]): Promise<string[]>;
}
