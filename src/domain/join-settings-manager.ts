import { invalidArgument } from './errors.js';
import { validateAppUrls, type JoinSettings } from './join-settings.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { JoinSettingsStore } from './ports/index.js';

/** Input of UpdateJoinSettings, as received. */
export interface UpdateJoinSettingsInput {
  /** Absent when the request has no settings message. */
  settings: { appUrls: string[] } | undefined;
}

/** Join settings use cases: authorization, validation and the store. */
export class JoinSettingsManager {
  constructor(private readonly store: JoinSettingsStore) {}

  /** Returns the caller's environment's join settings. */
  async get(principal: Principal): Promise<JoinSettings> {
    ensureCan(principal, 'join-settings:read');
    return { appUrls: await this.store.appUrls(principal.environment) };
  }

  /** Replaces the caller's environment's join settings entirely. */
  async update(principal: Principal, input: UpdateJoinSettingsInput): Promise<JoinSettings> {
    ensureCan(principal, 'join-settings:manage');
    // A request without settings would clear the list: that must be asked for, not fallen into.
    if (!input.settings) throw invalidArgument('settings', 'is required; send settings with an empty app_urls to remove every app URL');
    const appUrls = validateAppUrls('settings.app_urls', input.settings.appUrls);
    return { appUrls: await this.store.replaceAppUrls(principal.environment, appUrls) };
  }
}
