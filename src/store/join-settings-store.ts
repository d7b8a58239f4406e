import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { Environment } from '../domain/principal.js';
import type { JoinSettingsStore } from '../domain/ports/index.js';
import { prepared, query, withTransaction } from './pool.js';

// classid of the advisory lock that serializes one environment's
// UpdateJoinSettings ("jset"): two replacements of an empty list would
// otherwise both insert position 0, and one fail on the primary key.
const SETTINGS_LOCK_CLASS = 0x6a736574;

const APP_URLS = prepared('join_app_urls', 'SELECT url FROM join_app_urls WHERE environment = $1 ORDER BY position');

/** {@link JoinSettingsStore} on Postgres: the table join_app_urls, one row per URL and position. */
export class PgJoinSettingsStore implements JoinSettingsStore {
  constructor(private readonly pool: pg.Pool) {}

  async appUrls(environment: Environment): Promise<string[]> {
    const { rows } = await query<{ url: string }>(this.pool, APP_URLS, [environment]);
    return rows.map((r) => r.url);
  }

  async replaceAppUrls(environment: Environment, urls: readonly string[]): Promise<string[]> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [SETTINGS_LOCK_CLASS, environment]);
      const { rows } = await query<{ url: string }>(client, APP_URLS, [environment]);
      const current = rows.map((r) => r.url);
      if (current.length === urls.length && current.every((u, i) => u === urls[i])) return current;
      await query(client, 'DELETE FROM join_app_urls WHERE environment = $1', [environment]);
      await query(
        client,
        `INSERT INTO join_app_urls (environment, position, url)
         SELECT $1, u.ordinality - 1, u.url FROM unnest($2::text[]) WITH ORDINALITY AS u(url, ordinality)`,
        [environment, urls],
      );
      auditChange(environment, { type: 'join_settings', id: environment });
      return [...urls];
    });
  }
}
