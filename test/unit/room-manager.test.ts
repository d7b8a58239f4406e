import { describe, expect, it } from 'vitest';
import type { CreateRoomInput } from '../../src/domain/room-manager.js';
import type { Principal, Scope } from '../../src/domain/principal.js';
import type { RoomRecord } from '../../src/domain/records.js';
import {
  ALL_PERMISSIONS,
  buildDomain,
  createPeer,
  createRoom,
  management,
  peerPrincipal,
  type Domain,
} from '../support/fakes/index.js';

const roomInput = (fields: Partial<CreateRoomInput> = {}): CreateRoomInput => ({
  name: '',
  maxPeers: 0,
  metadata: '',
  requestId: '',
  peerlessPurgeTimeoutSeconds: 0,
  peerDisconnectedTimeoutSeconds: 0,
  ...fields,
});

const ACTIONS: Array<{ name: string; allowed: Scope[]; run: (d: Domain, p: Principal, room: RoomRecord) => Promise<unknown> }> = [
  { name: 'create', allowed: ['rooms'], run: (d, p) => d.rooms.create(p, roomInput()) },
  { name: 'get', allowed: ['rooms', 'read'], run: (d, p, room) => d.rooms.get(p, room.id) },
  { name: 'list', allowed: ['rooms', 'read'], run: (d, p) => d.rooms.list(p, 0, '') },
  { name: 'update', allowed: ['rooms'], run: (d, p, room) => d.rooms.update(p, { roomId: room.id, metadata: '{"a":1}', maxPeers: 3 }) },
  { name: 'delete', allowed: ['rooms'], run: (d, p, room) => d.rooms.delete(p, room.id) },
];

describe('RoomManager: who may do what', () => {
  it.each(ACTIONS)('$name is allowed to the scopes $allowed and admin; other scopes change nothing', async (action) => {
    for (const scopes of [['admin'], ['rooms'], ['read'], ['verify'], []] as Scope[][]) {
      const d = await buildDomain();
      const room = await createRoom(d);
      const principal = management(scopes);
      if (scopes.includes('admin') || action.allowed.some((s) => scopes.includes(s))) {
        await expect(action.run(d, principal, room), scopes.join()).resolves.not.toThrow();
      } else {
        const before = d.tables.snapshot();
        await expect(action.run(d, principal, room), scopes.join()).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
        expect(d.tables.snapshot(), scopes.join()).toEqual(before);
      }
    }
  });

  it("lets a peer with can_update_room change its own room's metadata, and nothing else", async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    const other = await createRoom(d);
    const { peer } = await createPeer(d, room.id, { identity: 'host' });
    const host = peerPrincipal(peer, { canUpdateRoom: true });
    await expect(d.rooms.update(peerPrincipal(peer), { roomId: room.id, metadata: '{"topic":"x"}' })).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      message: expect.stringContaining('can_update_room'),
    });
    await expect(d.rooms.update(host, { roomId: other.id, metadata: '{"topic":"x"}' })).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
    });
    const before = d.tables.snapshot();
    for (const limit of [{ maxPeers: 1 }, { peerlessPurgeTimeoutSeconds: 60 }, { peerDisconnectedTimeoutSeconds: 60 }]) {
      await expect(d.rooms.update(peerPrincipal(peer, ALL_PERMISSIONS), { roomId: room.id, metadata: '{}', ...limit })).rejects.toMatchObject({
        code: 'ERR_PERMISSION_DENIED',
        message: expect.stringContaining('only a management token'),
      });
    }
    expect(d.tables.snapshot()).toEqual(before);
    expect((await d.rooms.update(host, { roomId: room.id, metadata: '{"topic":"x"}' })).metadata).toBe('{"topic":"x"}');
  });

  it("answers a sandbox admin ERR_ROOM_NOT_FOUND for a production room, and lists only the caller's rooms", async () => {
    const d = await buildDomain();
    const production = await createRoom(d, 'production');
    const sandbox = await createRoom(d, 'sandbox');
    const admin = management(['admin'], 'sandbox');
    const before = d.tables.snapshot();
    await expect(d.rooms.get(admin, production.id)).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
    await expect(d.rooms.update(admin, { roomId: production.id, maxPeers: 1 })).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
    await expect(d.rooms.delete(admin, production.id)).rejects.toMatchObject({ code: 'ERR_ROOM_NOT_FOUND' });
    expect(d.tables.snapshot()).toEqual(before);
    expect((await d.rooms.list(admin, 0, '')).items.map((r) => r.id)).toEqual([sandbox.id]);
  });
});

describe('RoomManager.create', () => {
  it('replays a retried request_id and refuses one reused with other parameters', async () => {
    const d = await buildDomain();
    const admin = management(['rooms']);
    const first = await d.rooms.create(admin, roomInput({ name: 'standup', requestId: 'r1' }));
    expect((await d.rooms.create(admin, roomInput({ name: 'standup', requestId: 'r1' }))).id).toBe(first.id);
    await expect(d.rooms.create(admin, roomInput({ name: 'retro', requestId: 'r1' }))).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENCY_MISMATCH',
    });
    expect(d.tables.rooms.size).toBe(1);
  });

  it('refuses a name already used in the environment with ERR_ROOM_NAME_TAKEN, but not in the other one', async () => {
    const d = await buildDomain();
    await d.rooms.create(management(['rooms']), roomInput({ name: 'standup' }));
    await expect(d.rooms.create(management(['rooms']), roomInput({ name: 'standup' }))).rejects.toMatchObject({
      code: 'ERR_ROOM_NAME_TAKEN',
    });
    expect((await d.rooms.create(management(['rooms'], 'production'), roomInput({ name: 'standup' }))).environment).toBe('production');
  });

  it('refuses rooms beyond maxRoomsPerEnvironment with ERR_ROOM_QUOTA_EXCEEDED, counting each environment apart', async () => {
    const d = await buildDomain({ limits: { maxRoomsPerEnvironment: 2 } });
    const first = await createRoom(d);
    await createRoom(d);
    await expect(createRoom(d)).rejects.toMatchObject({ code: 'ERR_ROOM_QUOTA_EXCEEDED', message: expect.stringContaining('2 rooms') });
    await createRoom(d, 'production');
    await d.rooms.delete(management(['rooms']), first.id);
    await expect(createRoom(d)).resolves.toMatchObject({ environment: 'sandbox' });
  });
});

describe('RoomManager.update', () => {
  it('refuses an update that sets nothing, and applies only the fields that are set', async () => {
    const d = await buildDomain();
    const room = await d.rooms.create(management(['rooms']), roomInput({ metadata: '{"a":1}', maxPeers: 5 }));
    await expect(d.rooms.update(management(['rooms']), { roomId: room.id })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('nothing to update'),
    });
    const updated = await d.rooms.update(management(['rooms']), { roomId: room.id, maxPeers: 1 });
    expect(updated).toMatchObject({ metadata: '{"a":1}', maxPeers: 1 });
  });

  it('lowering max_peers to the current count makes the next CreatePeer ERR_ROOM_FULL', async () => {
    const d = await buildDomain();
    const room = await createRoom(d);
    await createPeer(d, room.id, { identity: 'a' });
    await d.rooms.update(management(['rooms']), { roomId: room.id, maxPeers: 1 });
    await expect(createPeer(d, room.id, { identity: 'b' })).rejects.toMatchObject({ code: 'ERR_ROOM_FULL' });
  });
});
