// The soak's verdict on database growth (bench/lib/soak-verdict.ts), on made-up
// samples: rows that climb at the event rate fail it, rows that saw around a
// level pass, and the size is judged only in runs long enough for autovacuum.
import { describe, expect, it } from 'vitest';
import { judgeSoak, type SoakSample } from '../../bench/lib/soak-verdict.js';

/** Six 10-second samples, flat in everything but what `over` sets per sample. */
function samples(over: (i: number) => Partial<SoakSample>, every = 10): SoakSample[] {
  return Array.from({ length: 6 }, (_, i) => ({
    t: (i + 1) * every,
    calls: 3000,
    rps: 300,
    errors: 0,
    firstError: null,
    p50Ms: 5,
    p99Ms: 50,
    maxMs: 80,
    maxLagMs: 10,
    heapMb: 30,
    heapFloorMb: 28,
    rssMb: 150,
    rssFloorMb: 150,
    fds: 34,
    fdsFloor: 34,
    pgConnections: 11,
    dbSizeMb: 20,
    dbRows: 2500,
    dbMb: 10,
    eventRows: 2000,
    streamEvents: 100,
    streamFailures: 0,
    liveRooms: 50,
    livePeers: 100,
    ...over(i),
  }));
}

const check = (all: SoakSample[], name: string) => judgeSoak(all, 2).find((c) => c.check === name)!;

describe('the soak verdict on the database', () => {
  it('fails when rows keep growing at the event rate, as the events table did before retention', () => {
    // 200 events/s: 2,000 more rows every 10 s.
    const growing = check(samples((i) => ({ dbRows: 2500 + 2000 * i })), 'database rows growth');
    expect(growing.pass).toBe(false);
    expect(growing.measured).toMatch(/^\+720000\.0 rows\/hour; last 12500\.0$/);
  });

  it('passes rows that saw around a level by a few hundred', () => {
    const flat = check(samples((i) => ({ dbRows: [2400, 2900, 2500, 2800, 2450, 2950][i] })), 'database rows growth');
    expect(flat.pass).toBe(true);
  });

  it('reports the size in a short run, and judges it in a run of 5 minutes or more', () => {
    const climb = (i: number) => ({ dbMb: 10 + 4 * i });
    const short = check(samples(climb), 'database size growth');
    expect(short).toMatchObject({ pass: true, rule: 'reported, not judged: the run is shorter than 5 minutes' });
    const long = check(samples(climb, 60), 'database size growth');
    expect(long.pass).toBe(false);
  });
});
