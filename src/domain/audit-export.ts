import type { AuditRecord } from './audit-record.js';
import type { Environment } from './principal.js';
import type { AuditSnapshot } from './ports/index.js';

/** The time range of an export: `start <= time < end`; no end means up to the newest. */
export interface ExportRange {
  start: Date;
  end: Date | undefined;
}

/** One environment's records in the range, oldest first, fetched `batchSize` at a time. */
async function* environmentRecords(snapshot: AuditSnapshot, environment: Environment, range: ExportRange, batchSize: number): AsyncGenerator<AuditRecord> {
  let after: { time: Date; sequence: string } | undefined;
  for (;;) {
    const batch = await snapshot.byTime(environment, range, after, batchSize);
    yield* batch;
    const last = batch[batch.length - 1];
    if (!last || batch.length < batchSize) return;
    after = { time: last.time, sequence: last.sequence };
  }
}

/**
 * The records of `environments` in `range`, oldest first across them (ties in
 * the order of `environments`, then by sequence). Only one batch per
 * environment is held at a time, so a log of any size streams.
 */
export async function* exportRecords(
  snapshot: AuditSnapshot,
  environments: readonly Environment[],
  range: ExportRange,
  batchSize = 1000,
): AsyncGenerator<AuditRecord> {
  const streams = environments.map((e) => environmentRecords(snapshot, e, range, batchSize));
  const heads = await Promise.all(streams.map((s) => s.next()));
  for (;;) {
    let pick = -1;
    heads.forEach((h, i) => {
      if (h.done) return;
      const best = pick < 0 ? undefined : heads[pick];
      if (!best || best.done || h.value.time.getTime() < best.value.time.getTime()) pick = i;
    });
    if (pick < 0) return;
    const chosen = heads[pick]!;
    if (chosen.done) return;
    yield chosen.value;
    heads[pick] = await streams[pick]!.next();
  }
}
