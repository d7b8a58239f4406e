// A stand-in for a customer's app that the join page hands tokens to: a tiny
// node:http server on 127.0.0.1:0 whose /app page reads the token from the
// URL fragment, as docs/join-codes.md tells apps to, clears it from the
// address bar with history.replaceState, and exposes what it read as
// window.__handOff. It records every request it gets (target and headers), so
// a test can check that neither the token nor the join code ever reached it.
// Each test file starts its own; nothing is shared.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stub app</title><link rel="icon" href="data:,"></head>
<body><main><h1>Stub app</h1><p id="out">waiting</p></main><script src="/app.js"></script></body></html>
`;

const SCRIPT = `(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, '', location.pathname + location.search);
  window.__handOff = Object.fromEntries(params);
  document.getElementById('out').textContent = params.has('roomgate_token') ? 'token received' : 'no token';
})();
`;

/** One request the stub app received. */
export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A running stub app. */
export interface StubApp {
  /** Its origin, e.g. http://127.0.0.1:41234. */
  origin: string;
  /** Every request received, in order. */
  requests: StubRequest[];
  close(): Promise<void>;
}

/** Starts the stub app on a loopback port; any path serves the app page except /app.js. */
export async function startStubApp(): Promise<StubApp> {
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const script = req.url === '/app.js';
    const body = script ? SCRIPT : PAGE;
    res.writeHead(200, {
      'content-type': script ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
