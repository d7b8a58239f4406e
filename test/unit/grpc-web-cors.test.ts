import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { grpcWebCors } from '../../src/http/grpc-web-routes.js';

describe('CORS of the gRPC-Web routes', () => {
  it('grants only exact listed origins, with Vary: origin on every answer', () => {
    const cors = grpcWebCors(['https://console.example.com']);
    expect(cors.responseHeaders('https://console.example.com')).toMatchObject({
      'access-control-allow-origin': 'https://console.example.com',
      vary: 'origin',
    });
    for (const origin of [undefined, 'null', 'https://console.example.com.evil.com', 'http://console.example.com', 'https://CONSOLE.example.com']) {
      expect(cors.responseHeaders(origin), String(origin)).toEqual({ vary: 'origin' });
    }
    expect(grpcWebCors([]).allows('https://console.example.com')).toBe(false);
  });

  it('reads ROOMGATE_HTTP_CORS_ORIGINS as a comma-separated list of exact origins, none by default', () => {
    expect(loadConfig({}).http.corsOrigins).toEqual([]);
    expect(loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).http.corsOrigins).toEqual([
      'https://a.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'https://a.example.com/', 'https://a.example.com/console', 'a.example.com', 'https://A.example.com', 'ftp://a.example.com', 'https://a.example.com:443']) {
      expect(() => loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ROOMGATE_HTTP_CORS_ORIGINS: bad }), bad).toThrow(/ROOMGATE_HTTP_CORS_ORIGINS/);
    }
  });
});
