// GetJoinSettings and UpdateJoinSettings over real gRPC on real Postgres: the
// allowed app URLs are validated (exact strings, canonical form only, each
// refusal naming its index), replaced whole, kept apart per environment,
// changed by admins only, and audited. One server on a database of this
// file's own (see test/support/roomgate.ts).
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JoinCodeServiceClient,
  type GetJoinSettingsResponse,
  type UpdateJoinSettingsRequest,
  type UpdateJoinSettingsResponse,
} from '../../src/gen/roomgate/v1/join_code_service.js';
import { auditRowsOf } from '../support/audit-records.js';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let raw: JoinCodeServiceClient;
let admin: string;
let prodAdmin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  raw = new JoinCodeServiceClient(t.address, credentials.createInsecure());
  admin = await t.managementToken('sandbox');
  prodAdmin = await t.managementToken('production');
});
afterAll(async () => {
  raw?.close();
  await t?.close();
});

function md(token: string, requestId: string = randomUUID()): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${token}`);
  m.set('x-request-id', requestId);
  return m;
}

function getSettings(token: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    raw.getJoinSettings({}, md(token), (err: ServiceError | null, res: GetJoinSettingsResponse) => (err ? reject(err) : resolve(res.settings!.appUrls))),
  );
}

function update(token: string, request: UpdateJoinSettingsRequest, requestId?: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    raw.updateJoinSettings(request, md(token, requestId), (err: ServiceError | null, res: UpdateJoinSettingsResponse) =>
      err ? reject(err) : resolve(res.settings!.appUrls),
    ),
  );
}

const setUrls = (token: string, appUrls: string[], requestId?: string) => update(token, { settings: { appUrls } }, requestId);

describe('join settings', () => {
  it('starts empty, replaces the whole list in order, and clears it', async () => {
    expect(await getSettings(admin)).toEqual([]);
    const urls = ['https://app.example.com/join', 'http://127.0.0.1:5173/app', 'https://other.example/?tenant=a'];
    expect(await setUrls(admin, urls)).toEqual(urls);
    expect(await getSettings(admin)).toEqual(urls);
    const fewer = ['https://other.example/?tenant=a', 'https://app.example.com/join'];
    expect(await setUrls(admin, fewer)).toEqual(fewer);
    expect(await getSettings(admin)).toEqual(fewer);
    expect(await setUrls(admin, [])).toEqual([]);
    expect(await getSettings(admin)).toEqual([]);
  });

  it('refuses a bad URL with INVALID_ARGUMENT naming its index and reason, and changes nothing', async () => {
    const kept = ['https://kept.example/'];
    await setUrls(admin, kept);
    const cases: [string, RegExp][] = [
      ['http://app.example.com/', /^settings\.app_urls\[2\]: must use https \(http is allowed only for localhost, 127\.0\.0\.1 and \[::1\]\)$/],
      ['https://app.example.com/#x', /^settings\.app_urls\[2\]: must not have a fragment/],
      ['https://me:pw@app.example.com/', /^settings\.app_urls\[2\]: must not contain a user name or password$/],
      ['https://App.Example.com', /^settings\.app_urls\[2\]: must be written in canonical form, which is "https:\/\/app\.example\.com\/"$/],
      ['javascript:alert(1)', /^settings\.app_urls\[2\]: must use https, not javascript$/],
      ['not a url', /^settings\.app_urls\[2\]: is not an absolute URL/],
      [`https://a.example/${'x'.repeat(2040)}`, /^settings\.app_urls\[2\]: is 2058 characters; the limit is 2048$/],
      ['https://a.example/', /^settings\.app_urls\[2\]: repeats settings\.app_urls\[0\]$/],
    ];
    for (const [bad, message] of cases) {
      const err = await expectStatus(setUrls(admin, ['https://a.example/', 'https://b.example/', bad]), status.INVALID_ARGUMENT, message);
      const details = statusDetailsOf(err.metadata);
      expect(details.errorInfo[0]?.reason).toBe('ERR_INVALID_ARGUMENT');
      expect(details.badRequest[0]?.fieldViolations[0]?.field).toBe('settings.app_urls[2]');
    }
    const many = Array.from({ length: 21 }, (_, i) => `https://app${i}.example/`);
    await expectStatus(setUrls(admin, many), status.INVALID_ARGUMENT, /^settings\.app_urls: has 21 URLs; the limit is 20$/);
    await expectStatus(update(admin, {} as UpdateJoinSettingsRequest), status.INVALID_ARGUMENT, /^settings: is required/);
    expect(await getSettings(admin)).toEqual(kept);
    expect(await setUrls(admin, many.slice(0, 20))).toHaveLength(20);
  });

  it('keeps each environment to its own list', async () => {
    await setUrls(admin, ['https://sandbox-app.example/']);
    await setUrls(prodAdmin, ['https://prod-app.example/', 'https://sandbox-app.example/']);
    expect(await getSettings(admin)).toEqual(['https://sandbox-app.example/']);
    expect(await getSettings(prodAdmin)).toEqual(['https://prod-app.example/', 'https://sandbox-app.example/']);
    await setUrls(prodAdmin, []);
    expect(await getSettings(admin)).toEqual(['https://sandbox-app.example/']);
  });

  it('lets rooms and read tokens read the list, and only admin tokens change it', async () => {
    await setUrls(admin, ['https://only-admin.example/']);
    for (const scope of ['rooms', 'read'] as const) {
      const token = await t.managementToken('sandbox', [scope]);
      expect(await getSettings(token)).toEqual(['https://only-admin.example/']);
      await expectStatus(setUrls(token, ['https://attacker.example/']), status.PERMISSION_DENIED, /lacks the 'admin' scope/);
    }
    for (const scope of ['verify', 'audit'] as const) {
      await expectStatus(getSettings(await t.managementToken('sandbox', [scope])), status.PERMISSION_DENIED);
    }
    await expectStatus(getSettings('not-a-token'), status.UNAUTHENTICATED);
    expect(await getSettings(admin)).toEqual(['https://only-admin.example/']);
  });

  it('records each change in the audit log, and a request that changes nothing not at all', async () => {
    const changed = `join-settings-${randomUUID()}`;
    await setUrls(admin, ['https://audited.example/'], changed);
    const rows = await auditRowsOf(t.db.pool, changed);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      environment: 'sandbox',
      method: 'roomgate.v1.JoinCodeService/UpdateJoinSettings',
      result: 'OK',
      targets: [{ type: 'join_settings', id: 'sandbox' }],
    });
    const same = `join-settings-${randomUUID()}`;
    await setUrls(admin, ['https://audited.example/'], same);
    expect(await auditRowsOf(t.db.pool, same)).toEqual([]);
    const refused = `join-settings-${randomUUID()}`;
    await expectStatus(setUrls(await t.managementToken('sandbox', ['rooms']), [], refused), status.PERMISSION_DENIED);
    expect(await auditRowsOf(t.db.pool, refused)).toMatchObject([{ result: 'PERMISSION_DENIED', error_reason: 'ERR_PERMISSION_DENIED' }]);
  });

  it('serializes concurrent replacements: each succeeds and one whole list is left', async () => {
    const lists = Array.from({ length: 8 }, (_, i) => [`https://c${i}.example/a`, `https://c${i}.example/b`]);
    const results = await Promise.allSettled(lists.map((l) => setUrls(admin, l)));
    expect(results.map((r) => r.status)).toEqual(lists.map(() => 'fulfilled'));
    const left = await getSettings(admin);
    expect(lists).toContainEqual(left);
  });
});
