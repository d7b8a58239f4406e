import { auditHash } from './audit-record.js';
import type { Environment } from './principal.js';
import type { AuditSnapshot, StoredAuditRecord } from './ports/index.js';

/** What `roomgate audit verify` found in one environment's chain. */
export type ChainVerdict =
  | { environment: Environment; ok: true; records: number; firstSequence: string; headSequence: string; headHash: string }
  | {
      environment: Environment;
      ok: false;
      /** The first broken link: the record where the chain stops holding, or the head row. */
      sequence: string;
      /** The record's id; absent when the break is in the head row. */
      id?: string;
      problem: string;
    };

const short = (hash: string) => `${hash.slice(0, 12)}…`;

/**
 * Walks `environment`'s chain in sequence order, `batchSize` records at a
 * time, from the anchor that retention left (or the genesis), and returns the
 * first broken link: a gap in the sequence, a previous_hash that is not the
 * hash before it, a hash that is not the record's own, or a head row that
 * does not name the last record. The snapshot makes the head and the records
 * agree however busy the server is.
 */
export async function verifyChain(snapshot: AuditSnapshot, environment: Environment, batchSize = 1000): Promise<ChainVerdict> {
  const head = await snapshot.head(environment);
  let expected = BigInt(head.anchorSequence) + 1n;
  let previous = { hash: head.anchorHash, what: BigInt(head.anchorSequence) === 0n ? 'the genesis hash' : `the anchor's hash (sequence ${head.anchorSequence}, pruned)` };
  let count = 0;
  let after = '0';
  const broken = (r: StoredAuditRecord, problem: string): ChainVerdict => ({ environment, ok: false, sequence: r.sequence, id: r.id, problem });
  for (;;) {
    const batch = await snapshot.chain(environment, after, batchSize);
    for (const r of batch) {
      const seq = BigInt(r.sequence);
      if (seq < expected) return broken(r, `is at or below the anchor (sequence ${head.anchorSequence}): retention should have deleted it, or the anchor was changed`);
      if (seq > expected) {
        const missing = seq - 1n === expected ? `record ${expected} is` : `records ${expected}-${seq - 1n} are`;
        return broken(r, `does not follow on: ${missing} missing`);
      }
      if (r.previousHash !== previous.hash) {
        return broken(r, `previous_hash ${short(r.previousHash)} is not ${previous.what} ${short(previous.hash)}: a record before it was changed or removed`);
      }
      const recomputed = auditHash(r, r.previousHash);
      if (recomputed !== r.hash) return broken(r, `hash ${short(r.hash)} does not match its content (${short(recomputed)}): the record was changed`);
      if (r.unhashed.length > 0) return broken(r, `${r.unhashed.join(', ')} disagree with the hashed content: changed in the database`);
      previous = { hash: r.hash, what: `the hash of sequence ${r.sequence}` };
      expected = seq + 1n;
      count++;
    }
    if (batch.length < batchSize) break;
    after = batch[batch.length - 1]!.sequence;
  }
  const last = (expected - 1n).toString();
  if (head.sequence !== last) {
    const from = BigInt(last) + 1n;
    const problem =
      BigInt(head.sequence) > BigInt(last)
        ? `the chain head names sequence ${head.sequence} but the last record is ${last}: ${from.toString() === head.sequence ? `record ${from} is` : `records ${from}-${head.sequence} are`} missing`
        : `the chain head names sequence ${head.sequence} but records go on to ${last}`;
    return { environment, ok: false, sequence: head.sequence, problem };
  }
  if (head.hash !== previous.hash) {
    return { environment, ok: false, sequence: head.sequence, problem: `the chain head's hash ${short(head.hash)} is not ${previous.what} ${short(previous.hash)}` };
  }
  return { environment, ok: true, records: count, firstSequence: (BigInt(head.anchorSequence) + 1n).toString(), headSequence: head.sequence, headHash: head.hash };
}
