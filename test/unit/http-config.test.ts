import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config of the public HTTP listener', () => {
  it('listens on 127.0.0.1:8080 by default, with the documented limits', () => {
    expect(loadConfig({}).http).toEqual({
      address: '127.0.0.1:8080',
      rateLimitPerSecond: 20,
      rateLimitBurst: 100,
      maxConnections: 1024,
      maxConnectionsPerAddress: 64,
      headersTimeoutMs: 10_000,
      maxHeaderBytes: 8192,
      corsOrigins: [],
      grpcWebMaxStreamsPerAddress: 16,
    });
  });

  it('is off with ROOMGATE_HTTP_ADDRESS=off, and takes host:port, [v6]:port and port 0', () => {
    expect(loadConfig({ ROOMGATE_HTTP_ADDRESS: 'off' }).http.address).toBeUndefined();
    expect(loadConfig({ ROOMGATE_HTTP_ADDRESS: '0.0.0.0:80' }).http.address).toBe('0.0.0.0:80');
    expect(loadConfig({ ROOMGATE_HTTP_ADDRESS: '[::]:8080' }).http.address).toBe('[::]:8080');
    expect(loadConfig({ ROOMGATE_HTTP_ADDRESS: '127.0.0.1:0' }).http.address).toBe('127.0.0.1:0');
  });

  it('refuses a bad address or limit, naming the variable', () => {
    for (const [name, value] of [
      ['ROOMGATE_HTTP_ADDRESS', '8080'],
      ['ROOMGATE_HTTP_ADDRESS', 'on'],
      ['ROOMGATE_HTTP_ADDRESS', 'http://0.0.0.0:8080'],
      ['ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND', '-1'],
      ['ROOMGATE_HTTP_RATE_LIMIT_BURST', '0'],
      ['ROOMGATE_HTTP_MAX_CONNECTIONS', '0'],
      ['ROOMGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS', '1.5'],
      ['ROOMGATE_HTTP_HEADERS_TIMEOUT_MS', '50'],
      ['ROOMGATE_HTTP_MAX_HEADER_BYTES', '100'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(new RegExp(name));
    }
  });

  it('turns the rate limit off with 0', () => {
    expect(loadConfig({ ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: '0' }).http.rateLimitPerSecond).toBe(0);
  });
});
