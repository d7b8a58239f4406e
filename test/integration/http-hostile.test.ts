// Hostile requests against the public HTTP listener of a real roomgate: what
// the internet can send it (path tricks, other methods, bodies, slow or huge
// headers, floods of requests and connections) gets a clean 4xx or a closed
// socket, and never a stack or an internal. Requests are written byte for byte
// on raw sockets, since fetch would normalize the very paths under test.
// Three roomgates share this file's database: `open` with a rate limit too
// high to matter, `tight` and `crowded` with small limits for the flood tests.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let open: TestRoomgate;
let tight: TestRoomgate;
let crowded: TestRoomgate;
beforeAll(async () => {
  open = await startTestRoomgate({
    ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: '100000',
    ROOMGATE_HTTP_RATE_LIMIT_BURST: '100000',
    ROOMGATE_HTTP_HEADERS_TIMEOUT_MS: '1000',
    ROOMGATE_HTTP_MAX_HEADER_BYTES: '2048',
  });
  tight = await startTestRoomgate(
    {
      ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: '1',
      ROOMGATE_HTTP_RATE_LIMIT_BURST: '3',
      ROOMGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3',
    },
    { sharing: open },
  );
  crowded = await startTestRoomgate({ ROOMGATE_HTTP_MAX_CONNECTIONS: '2' }, { sharing: open });
});
afterAll(async () => {
  await crowded?.close();
  await tight?.close();
  await open?.close();
});

const portOf = (t: TestRoomgate) => Number(new URL(t.httpUrl).port);

/** What came back on a raw connection: the status line, headers, body, and how long until the server closed it. */
interface RawAnswer {
  status: number | undefined;
  head: string;
  body: string;
  closedAfterMs: number;
}

/** Writes `chunks` (with `gapMs` between them) on a new connection and reads until the server closes it. */
function raw(t: TestRoomgate, chunks: string[], gapMs = 0): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = net.connect(portOf(t), '127.0.0.1', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1];
      resolve({ status: status ? Number(status) : undefined, head, body, closedAfterMs: Date.now() - started });
    });
    setTimeout(() => reject(new Error(`no close after 15 s; got ${JSON.stringify(text)}`)), 15_000).unref();
  });
}

/** One request with Connection: close. */
const request = (t: TestRoomgate, method: string, target: string, headers = '') =>
  raw(t, [`${method} ${target} HTTP/1.1\r\nHost: roomgate.test\r\nConnection: close\r\n${headers}\r\n`]);

const header = (answer: RawAnswer, name: string) =>
  new RegExp(`^${name}: (.*)$`, 'im').exec(answer.head)?.[1];

/** What must never reach a client: a stack, a file path, SQL, or a Node error code. */
function expectNoInternals(answer: RawAnswer): void {
  expect(answer.head + answer.body).not.toMatch(/\bat .+:\d+:\d+|\/src\/|node_modules|SELECT |ERR_[A-Z_]+|Error:/);
}

describe('path tricks', () => {
  it('serves the exact path, with a query string, and in absolute form (whose authority is ignored)', async () => {
    for (const target of ['/.well-known/jwks.json', '/.well-known/jwks.json?x=1&y=%2e%2e', 'http://attacker.example/.well-known/jwks.json']) {
      const answer = await request(open, 'GET', target);
      expect(answer.status, target).toBe(200);
      expect(JSON.parse(answer.body)).toHaveProperty('keys');
    }
  });

  it('refuses with 400 every other spelling of a path: empty, . and .. segments, encoded dots, slashes, backslashes and NUL', async () => {
    const targets = [
      '//.well-known/jwks.json',
      '/.well-known//jwks.json',
      '/./.well-known/jwks.json',
      '/.well-known/./jwks.json',
      '/x/../.well-known/jwks.json',
      '/.well-known/x/../jwks.json',
      '/%2e/.well-known/jwks.json',
      '/%2E%2E/.well-known/jwks.json',
      '/.well-known%2fjwks.json',
      '/.well-known%2Fjwks.json',
      '/.well-known%5cjwks.json',
      '/.well-known\\jwks.json',
      '/healthz%00',
      '/%zz',
      '/healthz%',
      'http://host//healthz',
      'http://host/./healthz',
      '*',
      'healthz',
    ];
    for (const target of targets) {
      const answer = await request(open, 'GET', target);
      expect(answer.status, target).toBe(400);
      expectNoInternals(answer);
    }
  });

  it('answers 404 for unknown paths, a trailing slash and encodings of allowed characters alike', async () => {
    for (const target of ['/', '/jwks.json', '/.well-known/jwks.json/', '/HEALTHZ', '/%68ealthz', '/metrics', '/roomgate.v1.RoomService/NoSuchMethod', '/grpc.health.v1.Health/Check']) {
      const answer = await request(open, 'GET', target);
      expect(answer.status, target).toBe(404);
      expect(answer.body).toBe('not found\n');
      expect(header(answer, 'cache-control')).toBe('no-store');
    }
  });
});

describe('methods and bodies', () => {
  it('answers 405 with Allow: GET, HEAD to every other method on a known path, and 404 on an unknown one', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'CONNECT']) {
      const target = method === 'CONNECT' ? 'roomgate.test:443' : '/.well-known/jwks.json';
      const answer = await request(open, method, target, method === 'CONNECT' ? '' : 'Content-Length: 0\r\n');
      if (method === 'CONNECT') {
        // Authority-form is no path: refused before the method is looked at (node:http hands CONNECT to the listener's connect handler).
        expect(answer.status, method).toBe(400);
        continue;
      }
      expect(answer.status, method).toBe(405);
      expect(header(answer, 'allow'), method).toBe('GET, HEAD');
      expectNoInternals(answer);
    }
    expect((await request(open, 'DELETE', '/nowhere')).status).toBe(404);
  });

  it('refuses a request body with 413 and closes the connection, whether sized or chunked', async () => {
    const sized = await raw(open, ['GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello']);
    expect(sized.status).toBe(413);
    expect(header(sized, 'connection')).toBe('close');
    const chunked = await raw(open, ['GET /readyz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']);
    expect(chunked.status).toBe(413);
    // An empty body is no body.
    expect((await request(open, 'GET', '/healthz', 'Content-Length: 0\r\n')).status).toBe(200);
  });

  it('answers malformed requests with 400 and no internals', async () => {
    for (const bytes of ['GET /healthz HTTP/1.1\r\n\r\n', 'GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n', 'NOT-HTTP\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
      const answer = await raw(open, [bytes]);
      expect(answer.status, JSON.stringify(bytes)).toBe(400);
      expectNoInternals(answer);
    }
  });
});

describe('slow and huge headers', () => {
  it('closes a connection that sends nothing, or its headers a line at a time, with 408 once the headers timeout (1 s here) has passed', async () => {
    const silent = await raw(open, []);
    expect(silent.status).toBe(408);
    expect(silent.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(silent.closedAfterMs).toBeLessThan(5_000);
    // Slowloris: every line in time for a per-read timeout, the whole far too late.
    const lines = ['GET /healthz HTTP/1.1\r\n', 'Host: a\r\n', ...Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: 1\r\n`)];
    const slow = await raw(open, lines, 200);
    expect(slow.status).toBe(408);
    expect(slow.closedAfterMs).toBeLessThan(5_000);
  });

  it('answers 431 to headers, or a request line, over ROOMGATE_HTTP_MAX_HEADER_BYTES (2048 here)', async () => {
    const big = await request(open, 'GET', '/healthz', `X-Big: ${'a'.repeat(4096)}\r\n`);
    expect(big.status).toBe(431);
    const many = await request(open, 'GET', '/healthz', Array.from({ length: 400 }, (_, i) => `X-${i}: v\r\n`).join(''));
    expect(many.status).toBe(431);
    const longTarget = await request(open, 'GET', `/healthz?${'q'.repeat(4096)}`);
    expect(longTarget.status).toBe(431);
    // Just under the limit still works.
    expect((await request(open, 'GET', '/healthz', `X-Fits: ${'a'.repeat(1500)}\r\n`)).status).toBe(200);
  });
});

describe('floods', () => {
  it('answers 429 with Retry-After once a client address has used its burst (3 here), and serves it again as the rate (1/s) refills', async () => {
    // The tight instance sees only this test's requests; its bucket starts full.
    const statuses: number[] = [];
    let limited: RawAnswer | undefined;
    for (let i = 0; i < 6; i++) {
      // X-Forwarded-For is anyone's to send, so it is not what the limit counts.
      const answer = await request(tight, 'GET', i % 2 ? '/healthz' : '/nowhere', `X-Forwarded-For: 203.0.113.${i}\r\n`);
      statuses.push(answer.status!);
      if (answer.status === 429) limited ??= answer;
    }
    // 404s count too: a scanner pays for its misses.
    expect(statuses.slice(0, 3)).toEqual([404, 200, 404]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
    expect(header(limited!, 'retry-after')).toBe('1');
    expect(limited!.body).toBe('too many requests\n');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await request(tight, 'GET', '/healthz')).status).toBe(200);
  });

  const connect = (t: TestRoomgate) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(portOf(t), '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  /** Sends a request on `socket` and resolves with what came back before the server closed it. */
  const answerOn = (socket: net.Socket) =>
    new Promise<{ text: string; ms: number }>((resolve) => {
      const started = Date.now();
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      socket.on('close', () => resolve({ text, ms: Date.now() - started }));
      socket.on('error', () => undefined);
      socket.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    });

  it('closes connections from one address beyond ROOMGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS (3 here) at once, and takes new ones when one closes', async () => {
    const held = [await connect(tight), await connect(tight), await connect(tight)];
    const extra = await answerOn(await connect(tight));
    expect(extra.text).toBe('');
    expect(extra.ms).toBeLessThan(1_000);
    held.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1_000)); // a token for the request below
    expect((await request(tight, 'GET', '/healthz')).status).toBe(200);
    for (const s of held) s.destroy();
  });

  it('closes connections beyond ROOMGATE_HTTP_MAX_CONNECTIONS (2 here) over all clients at once', async () => {
    const held = [await connect(crowded), await connect(crowded)];
    const extra = await answerOn(await connect(crowded));
    expect(extra.text).toBe('');
    expect(extra.ms).toBeLessThan(1_000);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await request(crowded, 'GET', '/healthz')).status).toBe(200);
  });
});
