// The client address interceptor over real connections: a grpc-js server with
// the interceptor roomgate installs, listening on TCP and, as for the gRPC-Web
// bridge, on a Unix socket in a 0700 directory, with one method that answers
// callClientKey and the metadata keys its handler saw. The bridge's header
// and key are believed on the socket only: a TCP client gets nothing from
// them, not even with the right key. RedeemJoinCode's own tests are in
// join-rate-limits-addresses.test.ts. Nothing here touches a database.
import { Client, credentials, Metadata, Server, ServerCredentials, type handleUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcWebBridge } from '../../src/http/grpc-web-bridge.js';
import { bridgeSocket, type BridgeSocket } from '../../src/http/grpc-web-socket.js';
import { TrustedProxies } from '../../src/http/trusted-proxies.js';
import { BRIDGE_KEY_HEADER, callClientKey, CLIENT_ADDRESS_HEADER, clientAddressInterceptor } from '../../src/transport/call-address.js';

const METHOD = { path: '/test.Addresses/Key', requestStream: false, responseStream: false };
const bytes = (b: Buffer) => b;
const SERVICE = { Key: { ...METHOD, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes, originalName: 'key' } };

interface Seen {
  key: string;
  keys: string[];
}

const answer: handleUnaryCall<Buffer, Buffer> = (call, callback) =>
  callback(null, Buffer.from(JSON.stringify({ key: callClientKey(call), keys: Object.keys(call.metadata.getMap()) } satisfies Seen)));

let socket: BridgeSocket;
const servers: Server[] = [];
const clients: Client[] = [];
let bridge: GrpcWebBridge;
let distrusting: string;
let trusting: string;

async function serve(proxies: string[], ...addresses: string[]): Promise<number> {
  const server = new Server({ interceptors: [clientAddressInterceptor({ proxies: new TrustedProxies(proxies), bridgeKey: socket.key })] });
  server.addService(SERVICE, { Key: answer });
  servers.push(server);
  let port = 0;
  for (const address of addresses) {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  }
  return port;
}

beforeAll(async () => {
  socket = await bridgeSocket();
  distrusting = `127.0.0.1:${await serve(['192.0.2.1'], socket.address, '127.0.0.1:0')}`;
  trusting = `127.0.0.1:${await serve(['127.0.0.1'], '127.0.0.1:0')}`;
  bridge = new GrpcWebBridge(socket.address, socket.key);
});
afterAll(async () => {
  bridge?.close();
  for (const c of clients) c.close();
  for (const s of servers) s.forceShutdown();
  await socket?.remove();
});

async function overTcp(address: string, headers: Record<string, string> = {}): Promise<Seen> {
  const client = new Client(address, credentials.createInsecure());
  clients.push(client);
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const reply = await new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(METHOD.path, bytes, bytes, Buffer.alloc(0), metadata, (err: ServiceError | null, value?: Buffer) =>
      err ? reject(err) : resolve(value!),
    ),
  );
  return JSON.parse(reply.toString()) as Seen;
}

async function overBridge(clientAddress: string | undefined, headers: Record<string, string> = {}, via = bridge): Promise<Seen> {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const call = via.call(METHOD, Buffer.alloc(0), metadata, new Date(Date.now() + 5_000), clientAddress);
  const chunks: Buffer[] = [];
  call.on('data', (b: Buffer) => chunks.push(b));
  await new Promise((resolve) => call.once('status', resolve));
  return JSON.parse(Buffer.concat(chunks).toString()) as Seen;
}

describe('the client address a call is counted under', () => {
  it('is the TCP peer for a direct caller, whatever it sends', async () => {
    expect((await overTcp(distrusting)).key).toBe('127.0.0.1');
    expect((await overTcp(distrusting, { [CLIENT_ADDRESS_HEADER]: '203.0.113.5' })).key).toBe('127.0.0.1');
    expect((await overTcp(distrusting, { 'x-forwarded-for': '203.0.113.5' })).key).toBe('127.0.0.1');
    // Even the bridge's own key does not make a TCP connection the bridge.
    const forged = await overTcp(distrusting, { [CLIENT_ADDRESS_HEADER]: '203.0.113.5', [BRIDGE_KEY_HEADER]: socket.key.toString('base64url') });
    expect(forged.key).toBe('127.0.0.1');
    expect(forged.keys).not.toContain(BRIDGE_KEY_HEADER);
  });

  it("is x-forwarded-for's client when the TCP peer is a trusted proxy", async () => {
    expect((await overTcp(trusting, { 'x-forwarded-for': '203.0.113.5' })).key).toBe('203.0.113.5');
    expect((await overTcp(trusting, { 'x-forwarded-for': '2001:db8:7:8::1' })).key).toBe('2001:db8:7:8::/64');
    expect((await overTcp(trusting, { [CLIENT_ADDRESS_HEADER]: '203.0.113.5' })).key).toBe('127.0.0.1');
  });

  it("is the browser's address the bridge sends over its socket, and the handler never sees the key", async () => {
    const seen = await overBridge('198.51.100.20');
    expect(seen.key).toBe('198.51.100.20');
    expect(seen.keys).not.toContain(BRIDGE_KEY_HEADER);
    expect((await overBridge('::ffff:198.51.100.21')).key).toBe('198.51.100.21');
    // What the browser put in the metadata is overwritten by the bridge.
    expect((await overBridge('198.51.100.22', { [CLIENT_ADDRESS_HEADER]: '203.0.113.9' })).key).toBe('198.51.100.22');
    // x-forwarded-for means nothing on the socket: the HTTP side has already read it.
    expect((await overBridge(undefined, { 'x-forwarded-for': '203.0.113.9' })).key).toBe('unknown');
  });

  it('is unknown on the socket without the right key', async () => {
    const impostor = new GrpcWebBridge(socket.address, Buffer.alloc(32, 1));
    try {
      expect((await overBridge('198.51.100.20', {}, impostor)).key).toBe('unknown');
    } finally {
      impostor.close();
    }
  });
});
