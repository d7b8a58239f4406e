// The audit CLI's argument parsing, and the chain walk and export merge on an
// in-memory snapshot (no database): batch boundaries, anchors and every kind
// of broken link.
import { describe, expect, it } from 'vitest';
import { auditCommand, parseTime } from '../../src/cli/audit-commands.js';
import { UsageError } from '../../src/cli/output.js';
import { exportRecords } from '../../src/domain/audit-export.js';
import { auditHash, GENESIS_HASH, type AuditRecord } from '../../src/domain/audit-record.js';
import { verifyChain } from '../../src/domain/audit-verifier.js';
import { can, ensureCan, type Action } from '../../src/domain/permissions.js';
import type { Environment, Principal, Scope } from '../../src/domain/principal.js';
import type { AuditChainHead, AuditSnapshot, StoredAuditRecord } from '../../src/domain/ports/index.js';

const NOW = new Date('2026-06-01T12:00:00Z');

describe('parseTime', () => {
  it('takes RFC 3339 times and durations back from now', () => {
    expect(parseTime('--since', '2026-01-31T00:00:00Z', NOW)).toEqual(new Date('2026-01-31T00:00:00Z'));
    expect(parseTime('--since', '2026-01-31T01:30:00.250+01:30', NOW)).toEqual(new Date('2026-01-31T00:00:00.250Z'));
    expect(parseTime('--since', '24h', NOW)).toEqual(new Date('2026-05-31T12:00:00Z'));
    expect(parseTime('--since', '7d', NOW)).toEqual(new Date('2026-05-25T12:00:00Z'));
    expect(parseTime('--until', '90s', NOW)).toEqual(new Date('2026-06-01T11:58:30Z'));
  });

  it.each(['yesterday', '2026-01-31', '2026-13-01T00:00:00Z', '2026-01-31T00:00:00', '24', '-1h', '1w', ''])('refuses %j', (value) => {
    expect(() => parseTime('--since', value, NOW)).toThrow(UsageError);
    expect(() => parseTime('--since', value, NOW)).toThrow(/--since must be an RFC 3339 time/);
  });
});

describe('auditCommand arguments', () => {
  // Each is refused before the database is opened (the environment has no DATABASE_URL).
  it.each([
    [['export'], /needs --since/],
    [['export', '--since', '1h', '--until', '2h'], /--until must be after --since/],
    [['export', '--since', '1h', '--environment', 'staging'], /--environment must be one of: sandbox, production/],
    [['verify', '--until', '1h'], /apply to audit export only/],
    [['verify', 'sandbox'], /takes no arguments: sandbox/],
  ])('%j', async (args, message) => {
    await expect(auditCommand(args, {})).rejects.toThrow(message);
    await expect(auditCommand(args, {})).rejects.toBeInstanceOf(UsageError);
  });
});

/** An environment's chain of `n` records, hashed as the server hashes them. */
function chain(environment: Environment, n: number, from = 1, previous = GENESIS_HASH): StoredAuditRecord[] {
  const records: StoredAuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const content = {
      environment,
      sequence: String(from + i),
      id: `00000000-0000-4000-8000-${String(from + i).padStart(12, '0')}`,
      time: new Date(Date.UTC(2026, 0, 1) + (from + i) * 1000 + (environment === 'production' ? 500 : 0)),
      actor: { kind: 'cli' as const, osUser: 'ops' },
      method: 'cli token create',
      targets: [],
      requestId: 'r',
      result: 'OK',
      errorReason: '',
    };
    const hash = auditHash(content, previous);
    records.push({ ...content, previousHash: previous, hash, unhashed: [] });
    previous = hash;
  }
  return records;
}

/** A snapshot over in-memory records, counting the batches asked for. */
function memory(records: Record<Environment, StoredAuditRecord[]>, heads: Partial<Record<Environment, Partial<AuditChainHead>>> = {}) {
  const calls: number[] = [];
  const snapshot: AuditSnapshot = {
    head: async (environment) => {
      const rs = records[environment];
      const last = rs[rs.length - 1];
      return {
        environment,
        sequence: last?.sequence ?? '0',
        hash: last?.hash ?? GENESIS_HASH,
        anchorSequence: '0',
        anchorHash: GENESIS_HASH,
        ...heads[environment],
      };
    },
    chain: async (environment, after, limit) => {
      calls.push(limit);
      return records[environment].filter((r) => BigInt(r.sequence) > BigInt(after)).slice(0, limit);
    },
    byTime: async (environment, range, after, limit) => {
      calls.push(limit);
      const key = (r: AuditRecord) => [r.time.getTime(), Number(r.sequence)] as const;
      const later = (r: AuditRecord) => !after || key(r)[0] > after.time.getTime() || (key(r)[0] === after.time.getTime() && key(r)[1] > Number(after.sequence));
      return records[environment]
        .filter((r) => r.time >= range.start && (!range.end || r.time < range.end) && later(r))
        .sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1])
        .slice(0, limit);
    },
  };
  return { snapshot, calls };
}

describe('verifyChain', () => {
  it('walks a chain batch by batch, across batch boundaries, and passes it', async () => {
    const { snapshot, calls } = memory({ sandbox: chain('sandbox', 7), production: [] });
    expect(await verifyChain(snapshot, 'sandbox', 3)).toMatchObject({ ok: true, records: 7, firstSequence: '1', headSequence: '7' });
    expect(calls).toEqual([3, 3, 3]);
    expect(await verifyChain(snapshot, 'production', 3)).toMatchObject({ ok: true, records: 0, headSequence: '0', headHash: GENESIS_HASH });
  });

  it('starts from the anchor after pruning', async () => {
    const full = chain('sandbox', 6);
    const { snapshot } = memory(
      { sandbox: full.slice(3), production: [] },
      { sandbox: { anchorSequence: '3', anchorHash: full[2]!.hash } },
    );
    expect(await verifyChain(snapshot, 'sandbox', 2)).toMatchObject({ ok: true, records: 3, firstSequence: '4' });
    const forged = memory({ sandbox: full.slice(3), production: [] }, { sandbox: { anchorSequence: '3', anchorHash: full[1]!.hash } });
    expect(await verifyChain(forged.snapshot, 'sandbox', 2)).toMatchObject({ ok: false, sequence: '4', problem: expect.stringContaining("the anchor's hash (sequence 3, pruned)") });
  });

  it('names the first broken link', async () => {
    const edited = chain('sandbox', 5);
    edited[3] = { ...edited[3]!, method: 'cli keys rotate' };
    expect(await verifyChain(memory({ sandbox: edited, production: [] }).snapshot, 'sandbox', 2)).toMatchObject({
      ok: false,
      sequence: '4',
      id: edited[3]!.id,
      problem: expect.stringMatching(/^hash .* does not match its content/),
    });
    const gap = chain('sandbox', 5).filter((r) => r.sequence !== '2' && r.sequence !== '3');
    expect(await verifyChain(memory({ sandbox: gap, production: [] }).snapshot, 'sandbox', 2)).toMatchObject({
      sequence: '4',
      problem: 'does not follow on: records 2-3 are missing',
    });
    const stray = chain('sandbox', 3);
    stray[1] = { ...stray[1]!, unhashed: ['actor_name'] };
    expect(await verifyChain(memory({ sandbox: stray, production: [] }).snapshot, 'sandbox')).toMatchObject({ sequence: '2', problem: expect.stringContaining('actor_name') });
    const ahead = memory({ sandbox: chain('sandbox', 3), production: [] }, { sandbox: { sequence: '2' } });
    expect(await verifyChain(ahead.snapshot, 'sandbox')).toMatchObject({ ok: false, sequence: '2', problem: 'the chain head names sequence 2 but records go on to 3' });
    const behind = memory({ sandbox: chain('sandbox', 3), production: [] }, { sandbox: { sequence: '6' } });
    expect(await verifyChain(behind.snapshot, 'sandbox')).toMatchObject({ problem: expect.stringContaining('records 4-6 are missing') });
  });
});

describe('exportRecords', () => {
  it('merges the environments oldest first, one batch each at a time, within since <= time < until', async () => {
    const { snapshot, calls } = memory({ sandbox: chain('sandbox', 6), production: chain('production', 4) });
    const range = { start: new Date(Date.UTC(2026, 0, 1) + 2000), end: new Date(Date.UTC(2026, 0, 1) + 6000) };
    const got: string[] = [];
    for await (const r of exportRecords(snapshot, ['sandbox', 'production'], range, 2)) got.push(`${r.environment[0]}${r.sequence}`);
    expect(got).toEqual(['s2', 'p2', 's3', 'p3', 's4', 'p4', 's5']);
    expect(calls.every((limit) => limit === 2)).toBe(true);
    const open: string[] = [];
    for await (const r of exportRecords(snapshot, ['production'], { start: new Date(0), end: undefined }, 3)) open.push(r.sequence);
    expect(open).toEqual(['1', '2', '3', '4']);
  });
});

describe("the 'audit' scope", () => {
  const scoped = (...scopes: Scope[]): Principal => ({ kind: 'management', environment: 'sandbox', tokenId: 't', scopes });
  const others: Action[] = [
    'room:create', 'room:read', 'room:list', 'room:update-metadata', 'room:update-limits', 'room:delete', 'peer:create',
    'peer:read', 'peer:list', 'peer:delete', 'peer:update-client-metadata', 'peer:update-permissions', 'peer:issue-token',
    'token:verify', 'management-token:manage', 'signing-key:manage', 'peer:report-status', 'webhook:manage', 'event:watch',
    'event:watch-all', 'ban:manage', 'ban:read',
  ];

  it('allows audit:read, as admin does, and implies nothing else', () => {
    expect(can(scoped('audit'), 'audit:read')).toBe(true);
    expect(can(scoped('admin'), 'audit:read')).toBe(true);
    expect(others.filter((a) => can(scoped('audit'), a, { roomId: 'r' }))).toEqual([]);
  });

  it('is the only way besides admin to read the log, and names itself when missing', () => {
    expect(can(scoped('rooms', 'read', 'verify'), 'audit:read')).toBe(false);
    expect(() => ensureCan(scoped('read'), 'audit:read')).toThrow(/lacks the 'audit' scope \(audit or admin allows audit:read\)/);
    const peer: Principal = { kind: 'peer', environment: 'sandbox', roomId: 'r', peerId: 'p', tokenId: 't', superseded: false, permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: true, canRemoveParticipants: true } };
    expect(can(peer, 'audit:read', { roomId: 'r' })).toBe(false);
  });
});
