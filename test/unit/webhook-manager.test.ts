import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { KeyEncryptor } from '../../src/domain/key-encryption.js';
import { PageTokens } from '../../src/domain/pagination.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import type { EventPayload } from '../../src/domain/events.js';
import type { Principal } from '../../src/domain/principal.js';
import type { RoomRecord } from '../../src/domain/records.js';
import { UrlGuard } from '../../src/domain/url-guard.js';
import { WebhookManager } from '../../src/domain/webhook-manager.js';
import { MemoryOutbox, MemoryWebhookStore } from '../support/fakes/index.js';

const ROOM = '3f2b8c1e-7a4d-4e3b-9f6a-1c2d3e4f5a6b';
const admin: Principal = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['admin'] };

function setup({ allowHttp = false, maxEndpointsPerEnvironment = 20 } = {}) {
  const dns: Record<string, string[]> = {
    'hooks.example.com': ['93.184.215.14'],
    'localhost.example.com': ['127.0.0.1'],
    'internal.example.com': ['93.184.215.14', '10.0.0.7'],
  };
  const guard = new UrlGuard(async (h) => dns[h] ?? Promise.reject(Object.assign(new Error(), { code: 'ENOTFOUND' })), {
    allowPrivateNetworks: false,
  });
  const encryptor = new KeyEncryptor(randomBytes(32));
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const store = new MemoryWebhookStore(new MemoryOutbox(clock));
  const rooms = { get: async (_env: string, id: string) => (id === ROOM ? ({ id } as RoomRecord) : undefined) };
  const manager = new WebhookManager(store, rooms, guard, encryptor, clock, DEFAULT_LIMITS, {
    allowHttp,
    maxEndpointsPerEnvironment,
  }, new PageTokens(randomBytes(32)));
  return { store, manager, encryptor, clock };
}

const input = (over: Partial<Parameters<WebhookManager['create']>[1]> = {}) => ({
  url: 'https://hooks.example.com/roomgate',
  eventTypes: [],
  roomId: '',
  description: '',
  ...over,
});

const HTTPS_ONLY = /^ERR_INVALID_ARGUMENT url: must use https \(ROOMGATE_WEBHOOK_ALLOW_HTTP=true allows http for local development\)$/;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => new Error('expected a DomainError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return `${(err as DomainError).code} ${(err as DomainError).message}`;
}

describe('WebhookManager.create', () => {
  it('stores the secret encrypted under the endpoint id and returns it once', async () => {
    const { manager, store, encryptor } = setup();
    const { endpoint, secret } = await manager.create(admin, input({ eventTypes: ['room_deleted', 'room_created', 'room_created'] }));
    expect(secret).toMatch(/^whsec_/);
    expect(endpoint.eventTypes).toEqual(['room_created', 'room_deleted']);
    const row = store.outbox.endpoints.get(endpoint.id)!;
    expect(row.secretEncrypted.includes(Buffer.from(secret))).toBe(false);
    expect(encryptor.decrypt(row.secretEncrypted, endpoint.id).toString()).toBe(secret);
    expect(() => encryptor.decrypt(row.secretEncrypted, ROOM)).toThrow();
  });

  it('refuses URLs that resolve to private addresses, or do not resolve, with one ERR_UNSAFE_WEBHOOK_URL that names neither', async () => {
    const { manager } = setup();
    // One answer for every refusal, so it cannot be used to probe the server's DNS (issue 12).
    const ONE = /^ERR_UNSAFE_WEBHOOK_URL url: not an allowed destination: webhooks may only reach host names that resolve to public addresses/;
    for (const url of ['https://localhost.example.com/', 'https://internal.example.com/', 'https://169.254.169.254/latest', 'https://[::1]:8443/', 'https://nowhere.example.com/']) {
      const answer = await codeOf(manager.create(admin, input({ url })));
      expect(answer).toMatch(ONE);
      expect(answer).not.toMatch(/loopback|private address|metadata|resolve \(|ENOTFOUND|10\.0\.0\.7/);
    }
  });

  it('names the setting that allows private addresses for local development, in the message and as data', async () => {
    const { manager } = setup();
    const err = (await manager.create(admin, input({ url: 'https://localhost.example.com/' })).catch((e: unknown) => e)) as DomainError;
    expect(err.message).toBe(
      'url: not an allowed destination: webhooks may only reach host names that resolve to public addresses ' +
        '(ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows non-public addresses for local development)',
    );
    expect({ field: err.field, metadata: err.metadata }).toEqual({
      field: 'url',
      metadata: { setting: 'ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS' },
    });
    const http = (await manager.create(admin, input({ url: 'http://hooks.example.com/' })).catch((e: unknown) => e)) as DomainError;
    expect({ field: http.field, problem: http.problem, metadata: http.metadata }).toEqual({
      field: 'url',
      problem: 'must use https (ROOMGATE_WEBHOOK_ALLOW_HTTP=true allows http for local development)',
      metadata: { setting: 'ROOMGATE_WEBHOOK_ALLOW_HTTP' },
    });
  });

  it('validates url, event types, room and description with INVALID_ARGUMENT naming the field', async () => {
    const { manager } = setup();
    const cases: [Partial<ReturnType<typeof input>>, RegExp][] = [
      [{ url: '' }, /^ERR_INVALID_ARGUMENT url: is required/],
      [{ url: 'hooks.example.com' }, /^ERR_INVALID_ARGUMENT url: must be an absolute URL/],
      [{ url: 'http://hooks.example.com/' }, HTTPS_ONLY],
      [{ url: 'ftp://hooks.example.com/' }, HTTPS_ONLY],
      [{ url: `https://hooks.example.com/${'a'.repeat(2030)}` }, /^ERR_INVALID_ARGUMENT url: must be at most 2048/],
      [{ url: 'https://user:pw@hooks.example.com/' }, /^ERR_INVALID_ARGUMENT url: must not contain credentials/],
      [{ url: 'https://nowhere.example.com/' }, /^ERR_UNSAFE_WEBHOOK_URL url: not an allowed destination/],
      [{ eventTypes: ['room_created', undefined] }, /^ERR_INVALID_ARGUMENT event_types:/],
      [{ roomId: 'nope' }, /^ERR_INVALID_ARGUMENT room_id: must be a UUID/],
      [{ roomId: '00000000-0000-4000-8000-00000000dead' }, /^ERR_ROOM_NOT_FOUND/],
      [{ description: 'x'.repeat(257) }, /^ERR_INVALID_ARGUMENT description: must be at most 256/],
      [{ description: 'bell\u0007' }, /^ERR_INVALID_ARGUMENT description:/],
    ];
    for (const [over, expected] of cases) expect(await codeOf(manager.create(admin, input(over)))).toMatch(expected);
    await expect(manager.create(admin, input({ roomId: ROOM, description: 'x'.repeat(256) }))).resolves.toBeDefined();
  });

  it('accepts http only when allowed', async () => {
    const { manager } = setup({ allowHttp: true });
    const { endpoint } = await manager.create(admin, input({ url: 'http://hooks.example.com:8080/in' }));
    expect(endpoint.url).toBe('http://hooks.example.com:8080/in');
  });

  it('refuses endpoints beyond maxEndpointsPerEnvironment with ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED, per environment, until one is deleted', async () => {
    const { manager } = setup({ maxEndpointsPerEnvironment: 2 });
    const production: Principal = { ...admin, environment: 'production' };
    const first = await manager.create(admin, input());
    await manager.create(admin, input());
    const refused = await manager.create(admin, input()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      code: 'ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED',
      message: expect.stringContaining('2 webhook endpoints'),
      metadata: { limit: '2', setting: 'ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT' },
    });
    // The other environment counts apart.
    await expect(manager.create(production, input())).resolves.toBeDefined();
    await manager.delete(admin, first.endpoint.id);
    await expect(manager.create(admin, input())).resolves.toBeDefined();
  });

  it('needs the rooms scope and a management token', async () => {
    const { manager } = setup();
    const read: Principal = { ...admin, scopes: ['read'] } as Principal;
    expect(await codeOf(manager.create(read, input()))).toMatch(/^ERR_PERMISSION_DENIED .*'rooms' scope/);
    const peer: Principal = {
      kind: 'peer',
      environment: 'sandbox',
      roomId: ROOM,
      peerId: ROOM,
      tokenId: 'j',
      superseded: false,
      permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true },
    };
    expect(await codeOf(manager.create(peer, input()))).toMatch(/^ERR_PERMISSION_DENIED/);
  });
});

describe('WebhookManager.rotateSecret', () => {
  it('keeps the old secret for the grace period, at most 7 days, and reports the end only while it lasts', async () => {
    const { manager, store, encryptor, clock } = setup();
    const { endpoint, secret: first } = await manager.create(admin, input());
    const { endpoint: rotated, secret: second } = await manager.rotateSecret(admin, endpoint.id, 3600);
    expect(second).not.toBe(first);
    expect(rotated.previousSecretExpiresAt).toEqual(new Date('2026-01-01T01:00:00Z'));
    const row = store.outbox.endpoints.get(endpoint.id)!;
    expect(encryptor.decrypt(row.secretEncrypted, endpoint.id).toString()).toBe(second);
    expect(encryptor.decrypt(row.previousSecretEncrypted!, endpoint.id).toString()).toBe(first);
    clock.advance(3600);
    expect((await manager.get(admin, endpoint.id)).previousSecretExpiresAt).toBeNull();

    const { endpoint: immediate } = await manager.rotateSecret(admin, endpoint.id, 0);
    expect(immediate.previousSecretExpiresAt).toBeNull();
    expect(store.outbox.endpoints.get(endpoint.id)!.previousSecretEncrypted).toBeNull();
    expect(await codeOf(manager.rotateSecret(admin, endpoint.id, 7 * 86_400 + 1))).toMatch(/^ERR_INVALID_ARGUMENT grace_seconds:/);
    expect(await codeOf(manager.rotateSecret(admin, ROOM, 0))).toMatch(/^ERR_WEBHOOK_ENDPOINT_NOT_FOUND/);
  });
});

describe('WebhookManager deliveries', () => {
  const revoked: EventPayload = { type: 'peer_token_revoked', peerId: ROOM, identity: 'alice', cause: 'peer_deleted', generation: 1 };

  it('lists deliveries newest first, page by page, neither skipping nor repeating those of one instant', async () => {
    const { manager, store, clock } = setup();
    const { endpoint } = await manager.create(admin, input());
    const older = Array.from({ length: 5 }, () => store.outbox.append({ environment: 'sandbox', roomId: ROOM, payload: revoked }).id);
    clock.advance(1);
    const newer = Array.from({ length: 2 }, () => store.outbox.append({ environment: 'sandbox', roomId: ROOM, payload: revoked }).id);
    const pages: string[][] = [];
    let token = '';
    do {
      const page = await manager.listDeliveries(admin, endpoint.id, 3, token);
      pages.push(page.items.map((d) => d.eventId));
      token = page.nextPageToken;
    } while (token !== '' && pages.length < 5);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const seen = pages.flat();
    expect(new Set(seen.slice(0, 2))).toEqual(new Set(newer));
    expect([...seen].sort()).toEqual([...older, ...newer].sort());
  });

  it('gives up pending deliveries on disable, redelivers only when enabled, as a new series, in its environment only', async () => {
    const { manager, store, clock } = setup();
    const { endpoint } = await manager.create(admin, input());
    const event = store.outbox.append({ environment: 'sandbox', roomId: ROOM, payload: revoked });
    const elsewhere = store.outbox.append({ environment: 'production', roomId: ROOM, payload: revoked });
    const disabled = await manager.update(admin, { endpointId: endpoint.id, enabled: false });
    expect(disabled).toMatchObject({ enabled: false, disabledReason: '' });
    expect((await manager.listDeliveries(admin, endpoint.id, 10, '')).items).toMatchObject([
      { eventId: event.id, state: 'failed', lastError: 'endpoint disabled', attempts: 0 },
    ]);
    expect(await codeOf(manager.redeliver(admin, event.id, endpoint.id))).toMatch(/^ERR_WEBHOOK_ENDPOINT_DISABLED/);

    await manager.update(admin, { endpointId: endpoint.id, enabled: true });
    clock.advance(60);
    const again = await manager.redeliver(admin, event.id, endpoint.id);
    expect(again).toMatchObject({ eventId: event.id, eventType: 'peer_token_revoked', state: 'pending', attempts: 0, lastError: '' });
    expect(again.createdAt).toEqual(clock.now());
    expect(again.nextAttemptAt).toEqual(clock.now());
    expect((await manager.listDeliveries(admin, endpoint.id, 10, '')).items).toEqual([again]);
    expect(await codeOf(manager.redeliver(admin, elsewhere.id, endpoint.id))).toMatch(/^ERR_EVENT_NOT_FOUND/);
    expect(await codeOf(manager.redeliver(admin, ROOM, endpoint.id))).toMatch(/^ERR_EVENT_NOT_FOUND/);
  });

  it("refuses to redeliver an event the endpoint's filter excludes, writing no delivery", async () => {
    const { manager, store } = setup();
    const { endpoint } = await manager.create(admin, input({ eventTypes: ['room_created'] }));
    const event = store.outbox.append({ environment: 'sandbox', roomId: ROOM, payload: revoked });
    expect(await codeOf(manager.redeliver(admin, event.id, endpoint.id))).toMatch(/^ERR_EVENT_NOT_SUBSCRIBED the endpoint's filter/);
    expect((await manager.listDeliveries(admin, endpoint.id, 10, '')).items).toEqual([]);
  });
});
