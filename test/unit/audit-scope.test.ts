import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  auditChange,
  auditFrame,
  auditRecorded,
  pendingAuditRecord,
  setAuditActor,
  withAuditScope,
} from '../../src/context/audit-scope.js';
import type { AuditActor } from '../../src/domain/audit-record.js';

const actor: AuditActor = { kind: 'management_token', tokenId: 't1', name: 'ci', hint: 'rg_live_…abcd' };
const call = { method: 'roomgate.v1.RoomService/CreateRoom', requestId: 'r1' };

/** What withTransaction does: the work in a frame, then the record it would append, then "COMMIT". */
async function transaction(work: () => Promise<void> | void, commit = true) {
  const { frame, result } = auditFrame(async () => work());
  await result;
  const record = pendingAuditRecord(frame);
  if (commit && record && frame) auditRecorded(frame);
  return record;
}

describe('audit scope', () => {
  it('gives the transaction that named a change the call\'s record, and no other transaction of the call one', async () => {
    const records = await withAuditScope(call, async () => {
      setAuditActor('sandbox', actor);
      const read = await transaction(() => undefined);
      const first = await transaction(() => auditChange('sandbox', { type: 'room', id: 'a' }, { type: 'room', id: 'a' }));
      const second = await transaction(() => auditChange('sandbox', { type: 'room', id: 'b' }));
      return [read, first, second];
    });
    expect(records).toEqual([
      undefined,
      { environment: 'sandbox', actor, method: call.method, targets: [{ type: 'room', id: 'a' }], requestId: 'r1', result: 'OK', errorReason: '' },
      undefined,
    ]);
  });

  it('leaves the call open for a later transaction when the one that named a change rolled back', async () => {
    const record = await withAuditScope(call, async () => {
      setAuditActor('sandbox', actor);
      await transaction(() => auditChange('sandbox', { type: 'room', id: 'gone' }), false);
      return transaction(() => auditChange('sandbox', { type: 'room', id: 'kept' }));
    });
    expect(record?.targets).toEqual([{ type: 'room', id: 'kept' }]);
  });

  it('records nothing before authentication, and nothing for work the call left running after it settled', async () => {
    let late: Promise<unknown> | undefined;
    const early = await withAuditScope(call, async () => {
      const before = await transaction(() => auditChange('sandbox', { type: 'room', id: 'x' }));
      setAuditActor('sandbox', actor);
      // Inherits the call's async context, as a timer or background write would.
      late = sleep(20).then(() => transaction(() => auditChange('sandbox', { type: 'room', id: 'y' })));
      return before;
    });
    expect(early).toBeUndefined();
    expect(await late).toBeUndefined();
  });

  it('refuses a change named outside a transaction of an open call, which would lose its record', async () => {
    await withAuditScope(call, async () => {
      setAuditActor('sandbox', actor);
      expect(() => auditChange('sandbox', { type: 'room', id: 'x' })).toThrow(/outside a transaction/);
    });
    expect(() => auditChange('sandbox', { type: 'room', id: 'x' })).not.toThrow();
  });
});
