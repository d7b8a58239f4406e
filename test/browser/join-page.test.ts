// The join page in real Chromium against a live roomgate: a join link opened,
// a name entered, the token handed to a stub app in the URL fragment and
// verified with VerifyPeerToken; a used-up, a revoked and an unknown link each
// show one clear message; a link whose app URL was taken off the allow-list is
// refused without navigating or using the code; a full room, a banned invitee
// and too many attempts each get their own message; a redirect target in the
// page's own query is ignored. The stub app (test/support/stub-app.ts) records
// what reached it: never the token, never the code. Setup goes through the
// gRPC API, as a backend's would.
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CreateJoinCodeRequest,
  GetJoinCodeRequest,
  JoinCodeServiceClient,
  RedeemJoinCodeRequest,
  RevokeJoinCodeRequest,
  UpdateJoinSettingsRequest,
  type CreateJoinCodeResponse,
  type GetJoinCodeResponse,
} from '../../src/gen/roomgate/v1/join_code_service.js';
import { CreateRoleRequest, RoleServiceClient } from '../../src/gen/roomgate/v1/role_service.js';
import { expectNoSeriousAxeViolations } from '../support/browser-axe.js';
import { describeBrowser, useConsole } from '../support/browser-console.js';
import { startStubApp, type StubApp } from '../support/stub-app.js';

// A low per-code limit, so that one test can see the page's RESOURCE_EXHAUSTED message; every other
// test makes at most two attempts at each of its codes. The per-address limit is out of the way.
const PER_CODE_LIMIT = 4;
const c = useConsole(import.meta.url, {
  ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: String(PER_CODE_LIMIT),
  ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: '1000',
});
const ROLE_PERMISSIONS = { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false };
const NO_LONGER_VALID = 'This invitation link is no longer valid. It may have expired, been revoked or been used up. Ask the person who sent it for a new one.';

let app: StubApp;
let joinCodes: JoinCodeServiceClient;
let roles: RoleServiceClient;
/** Every secret the tests made: none may reach roomgate's log or the stub app. */
const secrets: string[] = [];

/** Calls a unary method of a generated grpc-js client as the root admin. */
function call<Res>(client: Client, method: string, request: unknown): Promise<Res> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${c.root}`);
  const fn = (client as unknown as Record<string, (r: unknown, m: Metadata, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!;
  return new Promise((resolve, reject) => fn.call(client, request, md, (err, res) => (err ? reject(err) : resolve(res))));
}

const appUrl = (path = '/app') => `${app.origin}${path}`;

async function allowAppUrls(urls: string[]): Promise<void> {
  await call(joinCodes, 'updateJoinSettings', UpdateJoinSettingsRequest.fromPartial({ settings: { appUrls: urls } }));
}

/** A new room and a link code for it with the test role; `appUrl` empty means the environment's first. */
async function joinCode(options: { maxUses?: number; appUrl?: string; identity?: string } = {}): Promise<{ roomId: string; id: string; code: string }> {
  const { room } = await c.t.client.rooms.createRoom({}, { token: c.root });
  const created = await call<CreateJoinCodeResponse>(
    joinCodes,
    'createJoinCode',
    CreateJoinCodeRequest.fromPartial({
      roomId: room!.id,
      role: 'guest',
      expireTime: new Date(Date.now() + 3_600_000),
      maxUses: options.maxUses ?? 1,
      appUrl: options.appUrl ?? '',
      identity: options.identity ?? '',
    }),
  );
  secrets.push(created.code);
  return { roomId: room!.id, id: created.joinCode!.id, code: created.code };
}

const useCount = async (id: string) => (await call<GetJoinCodeResponse>(joinCodes, 'getJoinCode', GetJoinCodeRequest.fromPartial({ id }))).joinCode!.useCount;

/** Opens the join link (with `query` appended), enters `name` and presses Join. */
async function join(code: string, name: string, query = ''): Promise<void> {
  const { page } = c;
  await page.goto(`${c.t.httpUrl}/join/${code}${query}`);
  await page.getByLabel('Your name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
}

/** Waits for the page's alert to say `text`, and checks the page stayed on the join link. */
async function expectRefused(code: string, text: string | RegExp): Promise<void> {
  const { page } = c;
  await page.getByRole('alert').filter({ hasText: text }).waitFor();
  expect(new URL(page.url()).pathname).toBe(`/join/${code}`);
  expect(await page.getByRole('button', { name: 'Join', exact: true }).isEnabled()).toBe(true);
}

describeBrowser('the join page', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    app = await startStubApp();
    joinCodes = new JoinCodeServiceClient(c.t.address, credentials.createInsecure());
    roles = new RoleServiceClient(c.t.address, credentials.createInsecure());
    await call(roles, 'createRole', CreateRoleRequest.fromPartial({ name: 'guest', permissions: ROLE_PERMISSIONS, tokenTtlSeconds: 900 }));
    await allowAppUrls([appUrl()]);
  });
  afterAll(async () => {
    joinCodes?.close();
    roles?.close();
    await app?.close();
  });

  it('hands a verified token to the app in the fragment, which never reaches a server or a log', async () => {
    const { page, watch } = c;
    const { roomId, id, code } = await joinCode({ maxUses: 2 });
    await page.goto(`${c.t.httpUrl}/join/${code}`);
    await page.getByRole('heading', { level: 1, name: 'Join the room' }).waitFor();
    await expectNoSeriousAxeViolations(page, 'the join page');
    await c.shot('join-page');
    await page.getByLabel('Your name', { exact: true }).fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.waitForURL(`${appUrl()}**`);
    await page.getByText('token received', { exact: true }).waitFor();
    const handOff = (await page.evaluate('window.__handOff')) as Record<string, string>;
    // The app cleared the fragment from the address bar, as docs/join-codes.md tells it to.
    expect(page.url()).toBe(appUrl());
    const token = handOff.roomgate_token!;
    secrets.push(token);
    expect(Object.keys(handOff).sort()).toEqual(['roomgate_expires_at', 'roomgate_identity', 'roomgate_peer_id', 'roomgate_room_id', 'roomgate_token']);
    expect(handOff.roomgate_room_id).toBe(roomId);

    const verified = await c.t.client.tokens.verifyPeerToken({ token, roomId }, { token: c.root });
    expect(verified.valid).toBe(true);
    expect(verified.claims).toMatchObject({ roomId, peerId: handOff.roomgate_peer_id, name: 'Ada Lovelace', permissions: ROLE_PERMISSIONS });
    expect(verified.claims!.identity).toBe(handOff.roomgate_identity);
    expect(verified.claims!.expireTime!.toISOString()).toBe(handOff.roomgate_expires_at);
    const peer = (await c.t.client.peers.getPeer({ roomId, peerId: handOff.roomgate_peer_id! }, { token: c.root })).peer!;
    expect(peer).toMatchObject({ name: 'Ada Lovelace', role: 'guest' });
    expect(await useCount(id)).toBe(1);

    // The fragment is never sent: the app's server saw its page and script, without token or code, and
    // the page was asked for without a Referer (no-referrer: the join link stays with the browser).
    expect(app.requests.map((r) => r.url)).toEqual(['/app', '/app.js']);
    expect(app.requests[0]!.headers.referer).toBeUndefined();
    for (const r of app.requests) {
      const seen = JSON.stringify(r);
      expect(seen).not.toContain(token);
      expect(seen).not.toContain(code);
      expect(seen).not.toContain('/join/');
    }
    // location.replace: the join link is not in the history to go back to.
    expect(await page.evaluate('history.length')).toBeLessThanOrEqual(2);
    await page.goBack().catch(() => undefined);
    expect(page.url()).not.toContain('/join/');
    expect(await watch.cspViolations()).toEqual([]);
    const logs = c.t.logs.join('');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(token);
  });

  it('says a used-up link is no longer valid, and stays on the page', async () => {
    const { code } = await joinCode({ maxUses: 1 });
    await call(joinCodes, 'redeemJoinCode', RedeemJoinCodeRequest.fromPartial({ code, displayName: 'First' }));
    await join(code, 'Second');
    await expectRefused(code, NO_LONGER_VALID);
    await c.shot('used-up');
    await expectNoSeriousAxeViolations(c.page, 'the join page with its alert');
  });

  it('says the same of a revoked link and of one that never existed', async () => {
    const { id, code } = await joinCode({ maxUses: 5 });
    await call(joinCodes, 'revokeJoinCode', RevokeJoinCodeRequest.fromPartial({ id }));
    await join(code, 'Grace');
    await expectRefused(code, NO_LONGER_VALID);
    expect(await useCount(id)).toBe(0);
    await join('rgj_NeverIssuedNeverIssued12', 'Grace');
    await expectRefused('rgj_NeverIssuedNeverIssued12', NO_LONGER_VALID);
  });

  it('refuses a link whose app URL left the allow-list: no navigation, and the use is not counted', async () => {
    const other = appUrl('/other-app');
    await allowAppUrls([appUrl(), other]);
    const { id, code } = await joinCode({ maxUses: 3, appUrl: other });
    await allowAppUrls([appUrl()]);
    const before = app.requests.length;
    await join(code, 'Mallory');
    await expectRefused(code, /points to an app that is no longer allowed/);
    expect(app.requests.length).toBe(before);
    expect(await useCount(id)).toBe(0);
  });

  it('ignores a redirect target in its own URL: the token goes only to the allowed app', async () => {
    const { page } = c;
    const asked: string[] = [];
    page.on('request', (r) => asked.push(r.url()));
    const { code } = await joinCode();
    await join(code, 'Eve', '?app=https://evil.example/&redirect=https%3A%2F%2Fevil.example%2F');
    await page.waitForURL(`${appUrl()}**`);
    await page.getByText('token received', { exact: true }).waitFor();
    secrets.push(((await page.evaluate('window.__handOff')) as Record<string, string>).roomgate_token!);
    expect(asked.filter((u) => new URL(u).hostname.endsWith('evil.example'))).toEqual([]);
    expect(new URL(page.url()).origin).toBe(app.origin);
  });

  it('says a full room is full, without using the code', async () => {
    const { room } = await c.t.client.rooms.createRoom({ maxPeers: 1 }, { token: c.root });
    const created = await call<CreateJoinCodeResponse>(
      joinCodes,
      'createJoinCode',
      CreateJoinCodeRequest.fromPartial({ roomId: room!.id, role: 'guest', expireTime: new Date(Date.now() + 3_600_000), maxUses: 5 }),
    );
    secrets.push(created.code);
    await call(joinCodes, 'redeemJoinCode', RedeemJoinCodeRequest.fromPartial({ code: created.code, displayName: 'Seated' }));
    await join(created.code, 'Latecomer');
    await expectRefused(created.code, 'The room is full. Try again later, or ask the person who invited you.');
    expect(await useCount(created.joinCode!.id)).toBe(1);
  });

  it('tells a banned invitee they cannot join, without using the code', async () => {
    const { roomId, id, code } = await joinCode({ maxUses: 2, identity: 'banned-invitee' });
    await c.t.client.bans.createBan({ identity: 'banned-invitee', roomId }, { token: c.root });
    await join(code, 'Banned');
    await expectRefused(code, 'You cannot join this room: you have been banned from it.');
    expect(await useCount(id)).toBe(0);
  });

  it('says when too many attempts were made, and in how many seconds to try again', async () => {
    const { id, code } = await joinCode({ maxUses: 10 });
    for (let i = 0; i < PER_CODE_LIMIT; i++) {
      await call(joinCodes, 'redeemJoinCode', RedeemJoinCodeRequest.fromPartial({ code, displayName: `Early ${i}` }));
    }
    await join(code, 'One too many');
    await expectRefused(code, /^Too many attempts to join\. Try again in \d+ seconds?\.$/);
    expect(await useCount(id)).toBe(PER_CODE_LIMIT);
  });

  it('asks for a name before calling the server', async () => {
    const { code } = await joinCode();
    await c.page.goto(`${c.t.httpUrl}/join/${code}`);
    await c.page.getByRole('button', { name: 'Join', exact: true }).click();
    await c.page.getByRole('alert').filter({ hasText: 'Enter your name to join.' }).waitFor();
    expect(await c.page.getByLabel('Your name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
  });

  it('leaves no code and no token in roomgate’s log', async () => {
    expect(secrets.length, 'codes and tokens the tests above made').toBeGreaterThan(3);
    const logs = c.t.logs.join('');
    for (const s of secrets) expect(logs).not.toContain(s);
  });
});

