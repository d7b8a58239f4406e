// Who may call which PeerManager method: management scopes, environments and
// peer principals. The behaviour of the calls themselves is in peer-manager.test.ts.
import { describe, expect, it } from 'vitest';
import type { Principal, Scope } from '../../src/domain/principal.js';
import type { PeerRecord } from '../../src/domain/records.js';
import {
  ALL_PERMISSIONS,
  buildDomain,
  createPeer,
  createRoom,
  management,
  peerInput,
  peerPrincipal,
  type Domain,
  verifyToken,
  withPeer,
} from '../support/fakes/index.js';

const SCOPE_SETS: Array<{ label: string; scopes: Scope[] }> = [
  { label: 'admin', scopes: ['admin'] },
  { label: 'rooms', scopes: ['rooms'] },
  { label: 'read', scopes: ['read'] },
  { label: 'verify', scopes: ['verify'] },
  { label: 'no scope', scopes: [] },
];

// Each manager action with the scopes that allow it (admin always does) and
// what it changes, so a refused call can be shown to have changed nothing.
const ACTIONS: Array<{
  name: string;
  allowed: Scope[];
  run: (d: Domain, p: Principal, peer: PeerRecord) => Promise<unknown>;
}> = [
  { name: 'create', allowed: ['rooms'], run: (d, p, peer) => d.peers.create(p, peerInput(peer.roomId, { identity: 'bob' })) },
  { name: 'get', allowed: ['rooms', 'read'], run: (d, p, peer) => d.peers.get(p, peer.roomId, peer.id) },
  { name: 'list', allowed: ['rooms', 'read'], run: (d, p, peer) => d.peers.list(p, peer.roomId, 0, '') },
  { name: 'delete', allowed: ['rooms'], run: (d, p, peer) => d.peers.delete(p, peer.roomId, peer.id) },
  {
    name: 'updateClientMetadata',
    allowed: ['rooms'],
    run: (d, p, peer) => d.peers.updateClientMetadata(p, peer.roomId, peer.id, '{"mic":"off"}'),
  },
  { name: 'reportStatus', allowed: ['verify', 'rooms'], run: (d, p, peer) => d.peers.reportStatus(p, peer.roomId, peer.id, 'connected') },
  {
    name: 'updatePermissions',
    allowed: ['rooms'],
    run: (d, p, peer) => d.peers.updatePermissions(p, peer.roomId, peer.id, ALL_PERMISSIONS),
  },
];

describe('PeerManager: management scopes', () => {
  it.each(ACTIONS)('$name is allowed to exactly the scopes $allowed and admin; others change nothing', async (action) => {
    for (const { label, scopes } of SCOPE_SETS) {
      const { d, peer } = await withPeer();
      const principal = management(scopes);
      if (scopes.includes('admin') || action.allowed.some((s) => scopes.includes(s))) {
        await expect(action.run(d, principal, peer), label).resolves.not.toThrow();
      } else {
        const before = d.tables.snapshot();
        await expect(action.run(d, principal, peer), label).rejects.toMatchObject({
          code: 'ERR_PERMISSION_DENIED',
          message: expect.stringContaining(`lacks the '${action.allowed[0]}' scope`),
        });
        expect(d.tables.snapshot(), label).toEqual(before);
      }
    }
  });
});

describe('PeerManager: environment isolation', () => {
  it("answers a sandbox admin NOT_FOUND for every action on a production room's peer, and changes nothing", async () => {
    const d = await buildDomain();
    const room = await createRoom(d, 'production');
    const { peer, token } = await createPeer(d, room.id, { identity: 'alice' }, 'production');
    const sandboxAdmin = management(['admin'], 'sandbox');
    const before = d.tables.snapshot();
    for (const action of ACTIONS) {
      const expected = action.name === 'list' || action.name === 'create' ? 'ERR_ROOM_NOT_FOUND' : 'ERR_PEER_NOT_FOUND';
      await expect(action.run(d, sandboxAdmin, peer), action.name).rejects.toMatchObject({ code: expected });
    }
    expect(d.tables.snapshot()).toEqual(before);
    // The production side is untouched: the peer's token is still current there.
    expect(await d.tokens.verify(management(['verify'], 'production'), token, room.id)).toMatchObject({ valid: true });
  });
});

describe('PeerManager: peer principals', () => {
  it("may read and list its own room's peers, and no other room's", async () => {
    const { d, room, peer } = await withPeer();
    const other = await createRoom(d);
    const stranger = (await createPeer(d, other.id, { identity: 'eve' })).peer;
    const self = peerPrincipal(peer);
    expect((await d.peers.get(self, room.id, peer.id)).identity).toBe('alice');
    expect((await d.peers.list(self, room.id, 0, '')).items.map((p) => p.id)).toEqual([peer.id]);
    await expect(d.peers.get(self, other.id, stranger.id)).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    await expect(d.peers.list(self, other.id, 0, '')).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
  });

  it('updates its own client metadata only with can_update_metadata, and never another peer’s', async () => {
    const { d, room, peer } = await withPeer();
    const bob = (await createPeer(d, room.id, { identity: 'bob' })).peer;
    const before = d.tables.snapshot();
    await expect(d.peers.updateClientMetadata(peerPrincipal(peer), room.id, peer.id, '{"a":1}')).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      message: expect.stringContaining('can_update_metadata'),
    });
    const allowed = peerPrincipal(peer, { canUpdateMetadata: true });
    await expect(d.peers.updateClientMetadata(allowed, room.id, bob.id, '{"a":1}')).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      message: expect.stringContaining('only its own'),
    });
    expect(d.tables.snapshot()).toEqual(before);
    const updated = await d.peers.updateClientMetadata(allowed, room.id, peer.id, '{"a":1}');
    expect(updated.clientMetadata).toBe('{"a":1}');
    expect((await d.peerStore.get('sandbox', room.id, peer.id))?.clientMetadata).toBe('{"a":1}');
  });

  it('removes another peer of its room only with can_remove_participants, which ends that peer’s token', async () => {
    const { d, room, peer } = await withPeer();
    const bob = await createPeer(d, room.id, { identity: 'bob' });
    await expect(d.peers.delete(peerPrincipal(peer), room.id, bob.peer.id)).rejects.toMatchObject({
      code: 'ERR_PERMISSION_DENIED',
      message: expect.stringContaining('can_remove_participants'),
    });
    expect(await d.peerStore.get('sandbox', room.id, bob.peer.id)).toBeDefined();
    await d.peers.delete(peerPrincipal(peer, { canRemoveParticipants: true }), room.id, bob.peer.id);
    expect(await d.peerStore.get('sandbox', room.id, bob.peer.id)).toBeUndefined();
    expect(await verifyToken(d, bob.token)).toEqual({ valid: false, reason: 'REVOKED' });
  });

  it('may not remove a peer of another room, whatever its permissions', async () => {
    const { d, peer } = await withPeer();
    const other = await createRoom(d);
    const eve = (await createPeer(d, other.id, { identity: 'eve' })).peer;
    const mighty = peerPrincipal(peer, ALL_PERMISSIONS);
    await expect(d.peers.delete(mighty, other.id, eve.id)).rejects.toMatchObject({ code: 'ERR_PERMISSION_DENIED' });
    expect(await d.peerStore.get('sandbox', other.id, eve.id)).toBeDefined();
  });

  it('may not create peers, change permissions or report status even with every permission', async () => {
    const { d, peer } = await withPeer();
    const mighty = peerPrincipal(peer, ALL_PERMISSIONS);
    const before = d.tables.snapshot();
    for (const name of ['create', 'updatePermissions', 'reportStatus']) {
      const action = ACTIONS.find((a) => a.name === name)!;
      await expect(action.run(d, mighty, peer), name).rejects.toMatchObject({
        code: 'ERR_PERMISSION_DENIED',
        message: expect.stringContaining('needs a management token'),
      });
    }
    expect(d.tables.snapshot()).toEqual(before);
  });

  it('with a superseded token is UNAUTHENTICATED for everything, pointing at RefreshPeerToken', async () => {
    const { d, room, peer } = await withPeer();
    const stale = peerPrincipal(peer, ALL_PERMISSIONS, true);
    await expect(d.peers.get(stale, room.id, peer.id)).rejects.toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      message: expect.stringContaining('RefreshPeerToken'),
    });
    await expect(d.peers.updateClientMetadata(stale, room.id, peer.id, '{}')).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
  });
});
