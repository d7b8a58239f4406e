import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { ensureCan, type Action } from '../../src/domain/permissions.js';
import { NO_PERMISSIONS, type PeerPermissions, type Principal, type Scope } from '../../src/domain/principal.js';

const ROOM = '00000000-0000-4000-8000-000000000001';
const OTHER_ROOM = '00000000-0000-4000-8000-000000000002';
const PEER = '00000000-0000-4000-8000-0000000000a1';
const OTHER_PEER = '00000000-0000-4000-8000-0000000000a2';

const management: Principal = { kind: 'management', environment: 'sandbox', tokenId: 't', scopes: ['admin'] };
const scoped = (...scopes: Scope[]): Principal => ({ kind: 'management', environment: 'sandbox', tokenId: 't', scopes });
const peer = (permissions: Partial<PeerPermissions> = {}, superseded = false): Principal => ({
  kind: 'peer',
  environment: 'sandbox',
  roomId: ROOM,
  peerId: PEER,
  permissions: { ...NO_PERMISSIONS, ...permissions },
  tokenId: 'j',
  superseded,
});
const ALL: PeerPermissions = {
  canPublish: true,
  canSubscribe: true,
  canUpdateMetadata: true,
  canUpdateRoom: true,
  canRemoveParticipants: true,
};

function denied(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('ERR_PERMISSION_DENIED');
    return (err as DomainError).message;
  }
  throw new Error('expected PERMISSION_DENIED');
}

describe('ensureCan', () => {
  const everything: Action[] = [
    'room:create', 'room:read', 'room:list', 'room:update-metadata', 'room:update-limits', 'room:delete',
    'peer:create', 'peer:read', 'peer:list', 'peer:delete', 'peer:update-client-metadata', 'token:verify',
  ];

  it('lets a management principal do everything except refresh a peer token', () => {
    for (const action of everything) expect(() => ensureCan(management, action, { roomId: ROOM })).not.toThrow();
    expect(denied(() => ensureCan(management, 'token:refresh'))).toMatch(/peer token/);
  });

  it('lets a peer read its own room and its peers, and nothing of another room', () => {
    for (const action of ['room:read', 'peer:read', 'peer:list'] as const) {
      expect(() => ensureCan(peer(), action, { roomId: ROOM, peerId: OTHER_PEER })).not.toThrow();
      expect(denied(() => ensureCan(peer(ALL), action, { roomId: OTHER_ROOM }))).toMatch(/own room/);
    }
  });

  it('refuses management-only actions to a peer even with every permission', () => {
    for (const action of ['room:create', 'room:list', 'room:delete', 'peer:create', 'token:verify', 'room:update-limits'] as const) {
      expect(denied(() => ensureCan(peer(ALL), action, { roomId: ROOM }))).toBeTruthy();
    }
  });

  it('needs can_update_room to change the own room metadata', () => {
    expect(denied(() => ensureCan(peer(), 'room:update-metadata', { roomId: ROOM }))).toMatch(/can_update_room/);
    expect(() => ensureCan(peer({ canUpdateRoom: true }), 'room:update-metadata', { roomId: ROOM })).not.toThrow();
    denied(() => ensureCan(peer({ canUpdateRoom: true }), 'room:update-metadata', { roomId: OTHER_ROOM }));
  });

  it('needs can_update_metadata, and the own peer, to update client metadata', () => {
    const self = { roomId: ROOM, peerId: PEER };
    expect(denied(() => ensureCan(peer(), 'peer:update-client-metadata', self))).toMatch(/can_update_metadata/);
    expect(() => ensureCan(peer({ canUpdateMetadata: true }), 'peer:update-client-metadata', self)).not.toThrow();
    expect(
      denied(() => ensureCan(peer({ canUpdateMetadata: true }), 'peer:update-client-metadata', { roomId: ROOM, peerId: OTHER_PEER })),
    ).toMatch(/own peer/);
  });

  it('needs can_remove_participants to remove peers of the own room', () => {
    const other = { roomId: ROOM, peerId: OTHER_PEER };
    expect(denied(() => ensureCan(peer(), 'peer:delete', other))).toMatch(/can_remove_participants/);
    expect(() => ensureCan(peer({ canRemoveParticipants: true }), 'peer:delete', other)).not.toThrow();
    denied(() => ensureCan(peer({ canRemoveParticipants: true }), 'peer:delete', { roomId: OTHER_ROOM, peerId: OTHER_PEER }));
  });

  it('lets any peer refresh its own token', () => {
    expect(() => ensureCan(peer(), 'token:refresh')).not.toThrow();
  });

  it('lets a superseded peer token only refresh, with UNAUTHENTICATED telling it so', () => {
    expect(() => ensureCan(peer(ALL, true), 'token:refresh')).not.toThrow();
    for (const action of ['room:read', 'peer:list', 'peer:delete'] as const) {
      expect(() => ensureCan(peer(ALL, true), action, { roomId: ROOM })).toThrow(
        expect.objectContaining({ code: 'ERR_UNAUTHENTICATED', message: expect.stringMatching(/RefreshPeerToken/) }),
      );
    }
  });
});

describe('management scopes', () => {
  const allowed = (p: Principal, action: Action) => {
    try {
      ensureCan(p, action, { roomId: ROOM });
      return true;
    } catch {
      return false;
    }
  };
  const every: Action[] = [
    'room:create', 'room:read', 'room:list', 'room:update-metadata', 'room:update-limits', 'room:delete', 'peer:create',
    'peer:read', 'peer:list', 'peer:delete', 'peer:update-client-metadata', 'peer:update-permissions', 'peer:issue-token',
    'token:verify', 'management-token:manage', 'signing-key:manage', 'peer:report-status', 'webhook:manage', 'event:watch',
  ];

  it('admin allows everything', () => {
    expect(every.filter((a) => !allowed(scoped('admin'), a))).toEqual([]);
  });

  it('rooms allows rooms and peers, not verify or token and key management', () => {
    expect(every.filter((a) => !allowed(scoped('rooms'), a))).toEqual(['token:verify', 'management-token:manage', 'signing-key:manage']);
  });

  it('verify also allows ReportPeerStatus; read also allows WatchEvents', () => {
    expect(allowed(scoped('verify'), 'peer:report-status')).toBe(true);
    expect(allowed(scoped('read'), 'event:watch')).toBe(true);
    expect(allowed(scoped('read'), 'webhook:manage')).toBe(false);
  });

  it('read allows Get and List only', () => {
    expect(every.filter((a) => allowed(scoped('read'), a))).toEqual(['room:read', 'room:list', 'peer:read', 'peer:list', 'event:watch']);
  });

  it('verify allows VerifyPeerToken, ReportPeerStatus and the revocation feed of WatchEvents', () => {
    expect(every.filter((a) => allowed(scoped('verify'), a))).toEqual(['token:verify', 'peer:report-status', 'event:watch']);
    expect(allowed(scoped('verify'), 'event:watch-all')).toBe(false);
    expect(allowed(scoped('read'), 'event:watch-all')).toBe(true);
  });

  it('names the missing scope', () => {
    expect(denied(() => ensureCan(scoped('read'), 'room:create'))).toMatch(/lacks the 'rooms' scope/);
    expect(denied(() => ensureCan(scoped('rooms'), 'token:verify'))).toMatch(/lacks the 'verify' scope/);
    expect(denied(() => ensureCan(scoped('rooms', 'verify', 'read'), 'signing-key:manage'))).toMatch(/lacks the 'admin' scope/);
  });
});
