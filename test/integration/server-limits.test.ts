// grpc-js limits from configuration: an oversized request is refused with
// RESOURCE_EXHAUSTED before it is decoded, and nothing is written.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

describe('server limits', () => {
  it('refuses a 5 MiB request with RESOURCE_EXHAUSTED (limit ROOMGATE_GRPC_MAX_MESSAGE_BYTES, 1 MiB)', async () => {
    const huge = JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) });
    await expectStatus(t.client.rooms.createRoom({ metadata: huge }, { token: admin }), status.RESOURCE_EXHAUSTED);
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM rooms');
    expect(rows[0].n).toBe(0);
    // Just under the limit reaches roomgate, whose own metadata limit answers.
    await expectStatus(
      t.client.rooms.createRoom({ metadata: JSON.stringify({ pad: 'x'.repeat(900 * 1024) }) }, { token: admin }),
      status.INVALID_ARGUMENT,
      /^metadata: is \d+ bytes/,
    );
    expect((await t.client.rooms.createRoom({}, { token: admin })).room).toBeDefined();
  });
});
