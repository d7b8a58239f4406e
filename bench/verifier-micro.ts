// A quick in-process comparison, one thread, no closed loop: the offline
// verifier against bare node:crypto Ed25519 verify of the same tokens, and
// the verifier's own steps apart; interleaved, for a machine with other load.
// `npx tsc -p tsconfig.bench.json && node dist/bench/verifier-micro.js [count]`.
import { KeyObject, randomBytes, randomUUID, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PeerTokenVerifier } from '../src/client/verifier/index.js';
import { systemClock } from '../src/domain/clock.js';
import { KeyEncryptor } from '../src/domain/key-encryption.js';
import { PeerTokens } from '../src/domain/peer-token.js';
import { checkPeerClaims, parsePeerToken } from '../src/domain/peer-token-rules.js';
import { SigningKeyRing } from '../src/domain/signing-keys.js';
import { MemorySigningKeyStore } from '../test/support/fakes/index.js';

const count = Number(process.argv[2] ?? 20_000);
const ring = new SigningKeyRing(new MemorySigningKeyStore(), new KeyEncryptor(randomBytes(32)), systemClock);
await ring.init();
const tokens = new PeerTokens(ring, systemClock, { issuer: 'roomgate', clockToleranceSeconds: 5 });
const subject = {
  environment: 'sandbox' as const, roomId: randomUUID(), peerId: randomUUID(), identity: 'user-1234567', name: 'Bench Peer',
  metadata: '{"role":"speaker","lang":"en"}', generation: 1,
  permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: false, canRemoveParticipants: false },
};
const list: string[] = [];
for (let i = 0; i < count; i++) list.push(await tokens.sign(subject, tokens.stamp(3600)));
const body = JSON.stringify(ring.jwks());
const server = http.createServer((_, res) => res.writeHead(200, { 'cache-control': 'max-age=300' }).end(body));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const v = await PeerTokenVerifier.create({ jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, issuer: 'roomgate', environment: 'sandbox' });
const key = KeyObject.from((await ring.publicKey(ring.current().kid))! as Parameters<typeof KeyObject.from>[0]);

const bare = (t: string) => {
  const dot = t.lastIndexOf('.');
  if (!verify(null, Buffer.from(t.slice(0, dot), 'latin1'), key, Buffer.from(t.slice(dot + 1), 'base64url'))) throw new Error('bad');
};
// Interleaved in chunks of 500, so that the machine's other load falls on both alike.
let bareNs = 0n;
let libNs = 0n;
let partsNs = 0n;
for (let i = 0; i < count; i += 500) {
  const chunk = list.slice(i, i + 500);
  let t0 = process.hrtime.bigint();
  for (const t of chunk) bare(t);
  bareNs += process.hrtime.bigint() - t0;
  t0 = process.hrtime.bigint();
  for (const t of chunk) if (!(await v.verify(t)).valid) throw new Error('refused');
  libNs += process.hrtime.bigint() - t0;
  t0 = process.hrtime.bigint();
  for (const t of chunk) {
    const p = parsePeerToken(t);
    if (p === 'MALFORMED') throw new Error();
    checkPeerClaims(p, { issuer: 'roomgate', clockToleranceSeconds: 5, nowMs: Date.now() });
  }
  partsNs += process.hrtime.bigint() - t0;
}
const per = (ns: bigint) => (Number(ns) / count / 1000).toFixed(2);
console.log(`bare node:crypto verify: ${per(bareNs)} µs/token; verifier.verify: ${per(libNs)} µs/token; parse + claims alone: ${per(partsNs)} µs/token`);
console.log(`ratio (verifier rate / bare rate): ${(Number(bareNs) / Number(libNs)).toFixed(3)}`);
await v.close();
server.close();
