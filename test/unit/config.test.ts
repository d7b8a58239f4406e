import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ALLOW_PRIVATE_NETWORKS_SETTING } from '../../src/domain/url-guard.js';
import { ALLOW_HTTP_SETTING } from '../../src/domain/webhook-validation.js';

const KEK = Buffer.alloc(32, 7).toString('base64');

describe('config', () => {
  it('has defaults for embedded mode', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: undefined,
      grpcAddress: '127.0.0.1:50051',
      dataDir: './.roomgate',
      issuer: 'roomgate',
      logLevel: 'info',
      clockToleranceSeconds: 5,
    });
    expect(c.limits.maxMetadataBytes).toBe(4096);
  });

  it('requires the key-encryption key with DATABASE_URL, naming the variable', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db' })).toThrow(/ROOMGATE_KEY_ENCRYPTION_KEY: is required/);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }, { needKeys: false }).databaseUrl).toBe('postgres://u@h/db');
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', ROOMGATE_KEY_ENCRYPTION_KEY: KEK }).keyEncryptionKey).toEqual(
      Buffer.alloc(32, 7),
    );
  });

  it('reports every invalid variable at once', () => {
    try {
      loadConfig({ ROOMGATE_GRPC_ADDRESS: 'nonsense', ROOMGATE_KEY_ENCRYPTION_KEY: 'c2hvcnQ=', ROOMGATE_LOG_LEVEL: 'loud' });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toMatch(/ROOMGATE_GRPC_ADDRESS: must be host:port/);
      expect(message).toMatch(/ROOMGATE_KEY_ENCRYPTION_KEY: must be 32 random bytes/);
      expect(message).toMatch(/ROOMGATE_LOG_LEVEL/);
    }
  });

  it('requires DATABASE_URL when embedded Postgres is switched off (as in the Docker image)', () => {
    expect(() => loadConfig({ ROOMGATE_EMBEDDED_POSTGRES: 'false' })).toThrow(/DATABASE_URL: is required/);
    expect(
      loadConfig({ ROOMGATE_EMBEDDED_POSTGRES: 'false', DATABASE_URL: 'postgres://h/db', ROOMGATE_KEY_ENCRYPTION_KEY: KEK }).databaseUrl,
    ).toBe('postgres://h/db');
  });

  it('needs both TLS files, and a client CA only together with them', () => {
    expect(() => loadConfig({ ROOMGATE_TLS_CERT_FILE: '/c.pem' })).toThrow(/set both to serve TLS/);
    expect(() => loadConfig({ ROOMGATE_TLS_CLIENT_CA_FILE: '/ca.pem' })).toThrow(/set both to serve TLS/);
    expect(loadConfig({ ROOMGATE_TLS_CERT_FILE: '/c.pem', ROOMGATE_TLS_KEY_FILE: '/k.pem' }).tls).toEqual({
      certFile: '/c.pem',
      keyFile: '/k.pem',
      clientCaFile: undefined,
    });
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', ROOMGATE_GRPC_ADDRESS: '' }).grpcAddress).toBe('127.0.0.1:50051');
  });

  it('reads the webhook settings that the refusal messages name for local development', () => {
    expect(loadConfig({}).webhooks).toMatchObject({ allowHttp: false, allowPrivateNetworks: false });
    expect(loadConfig({ [ALLOW_HTTP_SETTING]: 'true' }).webhooks).toMatchObject({ allowHttp: true, allowPrivateNetworks: false });
    expect(loadConfig({ [ALLOW_PRIVATE_NETWORKS_SETTING]: 'true' }).webhooks).toMatchObject({ allowHttp: false, allowPrivateNetworks: true });
  });

  it('reads the webhook fairness settings: endpoint quota 20 and 2 attempts per endpoint by default, at least 1 each', () => {
    expect(loadConfig({}).webhooks).toMatchObject({ maxEndpointsPerEnvironment: 20, maxInFlightPerEndpoint: 2 });
    const set = { ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT: '50', ROOMGATE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '4' };
    expect(loadConfig(set).webhooks).toMatchObject({ maxEndpointsPerEnvironment: 50, maxInFlightPerEndpoint: 4 });
    expect(() => loadConfig({ ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT: '0' })).toThrow(/ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT/);
    expect(() => loadConfig({ ROOMGATE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '0' })).toThrow(/ROOMGATE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT/);
  });
});
