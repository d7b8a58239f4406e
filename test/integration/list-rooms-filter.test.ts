// ListRooms' name_filter over real gRPC on real Postgres: contains, ignoring
// case; LIKE's metacharacters taken literally; paging within a filter, with
// page tokens bound to it; the length limit with its field violation; and
// environment isolation. Each test names its rooms with a tag of its own, so
// tests sharing this file's database (see test/support/database.ts) never see
// each other's rooms through a filter.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus, startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { statusDetailsOf } from '../support/status-details.js';

let t: TestRoomgate;
let admin: string;

beforeAll(async () => {
  t = await startTestRoomgate();
  admin = await t.managementToken('sandbox');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token });
/** A tag that no other test's room names contain. */
const tag = () => randomBytes(4).toString('hex');

async function rooms(names: string[], token = admin): Promise<void> {
  for (const name of names) await t.client.rooms.createRoom({ name }, as(token));
}

/** Every page of ListRooms with `nameFilter`, as names in order. */
async function listAll(nameFilter: string, pageSize = 0, token = admin): Promise<string[]> {
  const names: string[] = [];
  let pageToken = '';
  do {
    const page = await t.client.rooms.listRooms({ nameFilter, pageSize, pageToken }, as(token));
    names.push(...page.rooms.map((r) => r.name));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return names;
}

describe('ListRooms name_filter', () => {
  it('lists the rooms whose name contains the text, oldest first', async () => {
    const x = tag();
    await rooms([`lobby-${x}`, `stage-${x}-1`, `backstage-${x}`, `other-${tag()}`]);
    expect(await listAll(`stage-${x}`)).toEqual([`stage-${x}-1`, `backstage-${x}`]);
    expect(await listAll(x)).toEqual([`lobby-${x}`, `stage-${x}-1`, `backstage-${x}`]);
    expect(await listAll(`nothing-${x}`)).toEqual([]);
    // No filter lists every room, unnamed ones too.
    const unnamed = (await t.client.rooms.createRoom({}, as(admin))).room!.id;
    const all = await t.client.rooms.listRooms({ pageSize: 100 }, as(admin));
    expect(all.rooms.map((r) => r.id)).toContain(unnamed);
    expect(all.rooms.map((r) => r.name)).toEqual(expect.arrayContaining([`lobby-${x}`, `stage-${x}-1`, `backstage-${x}`]));
  });

  it('ignores case, in the filter and in the names', async () => {
    const x = tag();
    await rooms([`Daily-Standup-${x}`, `daily-retro-${x}`, `WEEKLY-${x}`]);
    expect(await listAll(`DAILY-`)).toEqual(expect.arrayContaining([`Daily-Standup-${x}`, `daily-retro-${x}`]));
    expect(await listAll(`daily-standup-${x.toUpperCase()}`)).toEqual([`Daily-Standup-${x}`]);
    expect(await listAll(`weekly-${x}`)).toEqual([`WEEKLY-${x}`]);
  });

  it('takes %, _ and \\ literally', async () => {
    const x = tag();
    await rooms([`a_b-${x}`, `axb-${x}`, `a-b-${x}`]);
    // "_" is LIKE's any-character: unescaped, "a_b" would match all three.
    expect(await listAll(`a_b-${x}`)).toEqual([`a_b-${x}`]);
    expect((await listAll('_')).every((name) => name.includes('_'))).toBe(true);
    expect(await listAll('_')).toContain(`a_b-${x}`);
    // Room names never hold % or \, so filters with them match nothing
    // (unescaped, "%" would match every named room).
    expect(await listAll('%')).toEqual([]);
    expect(await listAll(`a%b-${x}`)).toEqual([]);
    expect(await listAll('\\')).toEqual([]);
    expect(await listAll(`a\\_b-${x}`)).toEqual([]);
  });

  it('pages through the matches only, and binds page tokens to the filter', async () => {
    const x = tag();
    const matching = Array.from({ length: 7 }, (_, i) => `page-${x}-${i}`);
    for (const [i, name] of matching.entries()) await rooms([name, `noise-${tag()}-${i}`]);
    expect(await listAll(`PAGE-${x}`, 2)).toEqual(matching);

    const first = await t.client.rooms.listRooms({ nameFilter: `page-${x}`, pageSize: 3 }, as(admin));
    expect(first.rooms.map((r) => r.name)).toEqual(matching.slice(0, 3));
    expect(first.nextPageToken).not.toBe('');
    // The same filter continues where the page ended.
    const second = await t.client.rooms.listRooms({ nameFilter: `page-${x}`, pageSize: 3, pageToken: first.nextPageToken }, as(admin));
    expect(second.rooms.map((r) => r.name)).toEqual(matching.slice(3, 6));
    // Another filter, another case of it, or none: the token is not theirs.
    for (const nameFilter of [`page-${x}-`, `PAGE-${x}`, '']) {
      await expectStatus(
        t.client.rooms.listRooms({ nameFilter, pageSize: 3, pageToken: first.nextPageToken }, as(admin)),
        status.INVALID_ARGUMENT,
        /^page_token: is not a token returned by this list call$/,
      );
    }
    // And an unfiltered list's token is not a filtered list's.
    const unfiltered = await t.client.rooms.listRooms({ pageSize: 1 }, as(admin));
    await expectStatus(
      t.client.rooms.listRooms({ nameFilter: `page-${x}`, pageToken: unfiltered.nextPageToken }, as(admin)),
      status.INVALID_ARGUMENT,
      /page_token/,
    );
  });

  it('accepts 64 characters and refuses 65 with a field violation on name_filter', async () => {
    const name = `n${tag()}`.padEnd(64, 'z');
    await rooms([name]);
    expect(await listAll(name.toUpperCase())).toEqual([name]);
    const err = await expectStatus(
      t.client.rooms.listRooms({ nameFilter: `${name}z` }, as(admin)),
      status.INVALID_ARGUMENT,
      /^name_filter: is 65 characters; the limit is 64/,
    );
    const details = statusDetailsOf(err.metadata);
    expect(details.errorInfo[0]).toMatchObject({ reason: 'ERR_INVALID_ARGUMENT', metadata: { field: 'name_filter' } });
    expect(details.badRequest[0]!.fieldViolations).toMatchObject([{ field: 'name_filter', description: expect.stringMatching(/limit is 64/) }]);
    // Characters, not bytes: 64 two-byte characters are within the limit.
    expect(await listAll('é'.repeat(64))).toEqual([]);
    await expectStatus(t.client.rooms.listRooms({ nameFilter: 'a\u0000b' }, as(admin)), status.INVALID_ARGUMENT, /^name_filter: must not contain control/);
  });

  it("never lists another environment's rooms", async () => {
    const x = tag();
    const live = await t.managementToken('production');
    await rooms([`shared-${x}-sandbox`]);
    await rooms([`shared-${x}-live`], live);
    expect(await listAll(`shared-${x}`)).toEqual([`shared-${x}-sandbox`]);
    expect(await listAll(`shared-${x}`, 0, live)).toEqual([`shared-${x}-live`]);
    // A page token of one environment's filtered list does not open in the other.
    await rooms([`shared-${x}-sandbox-2`]);
    const page = await t.client.rooms.listRooms({ nameFilter: `shared-${x}`, pageSize: 1 }, as(admin));
    await expectStatus(
      t.client.rooms.listRooms({ nameFilter: `shared-${x}`, pageSize: 1, pageToken: page.nextPageToken }, as(live)),
      status.INVALID_ARGUMENT,
      /page_token/,
    );
  });

  it('is allowed to scope read, like ListRooms', async () => {
    const x = tag();
    await rooms([`readable-${x}`]);
    expect(await listAll(`readable-${x}`, 0, await t.managementToken('sandbox', ['read']))).toEqual([`readable-${x}`]);
  });

  it('has the trigram index where pg_trgm is available (it is in this suite\'s Postgres)', async () => {
    const { rows } = await t.db.pool.query<{ available: boolean; index: string | null }>(
      `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available,
              to_regclass('rooms_name_trgm_idx')::text AS index`,
    );
    expect(rows[0]!.index).toBe(rows[0]!.available ? 'rooms_name_trgm_idx' : null);
  });
});
