// Starts the one Postgres server of a test run and migrates its template
// database; test/support/database.ts explains how test files use them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { migrate } from '../../src/store/migrate.js';
import { databaseUrl, runAdminStatement } from './database.js';

/** Same major version as the embedded binaries, so every mode runs the same Postgres. */
const CONTAINER_IMAGE = 'postgres:18-alpine';

interface DatabaseServer {
  adminUrl: string;
  description: string;
  stop(): Promise<void>;
}

/** Vitest global setup: provides the admin URL and template name, and returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The harness's only inputs from the environment, read in one place as src/config.ts does for the product.
  const server = await startServer({
    testDatabaseUrl: process.env.TEST_DATABASE_URL,
    dockerHost: process.env.DOCKER_HOST,
  });
  process.stderr.write(`roomgate tests: ${server.description}\n`);

  const template = `roomgate_template_${randomBytes(6).toString('hex')}`;
  try {
    await runAdminStatement(server.adminUrl, (c) => `CREATE DATABASE ${c.escapeIdentifier(template)}`);
    const pool = new pg.Pool({ connectionString: databaseUrl(server.adminUrl, template), max: 2 });
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    await runAdminStatement(
      server.adminUrl,
      (c) => `ALTER DATABASE ${c.escapeIdentifier(template)} ALLOW_CONNECTIONS false`,
    );
  } catch (err) {
    await teardown(server, template);
    throw err;
  }

  project.provide('databaseAdminUrl', server.adminUrl);
  project.provide('databaseTemplate', template);
  return () => teardown(server, template);
}

async function teardown(server: DatabaseServer, template: string): Promise<void> {
  try {
    await runAdminStatement(
      server.adminUrl,
      (c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(template)} WITH (FORCE)`,
    );
  } finally {
    await server.stop();
  }
}

async function startServer(env: { testDatabaseUrl?: string; dockerHost?: string }): Promise<DatabaseServer> {
  if (env.testDatabaseUrl) {
    const description = 'Postgres from TEST_DATABASE_URL';
    return { adminUrl: env.testDatabaseUrl, description, stop: async () => undefined };
  }
  if (await dockerEngineAnswers(env.dockerHost)) {
    // Imported only here: testcontainers must never load on machines without Docker.
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(CONTAINER_IMAGE).start();
    return {
      adminUrl: container.getConnectionUri(),
      description: `Postgres in a Docker container (${CONTAINER_IMAGE}, testcontainers)`,
      stop: async () => {
        await container.stop();
      },
    };
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'roomgate-test-pg-'));
  // mkdtemp makes it 0700; as root, Postgres runs as the postgres user, which must get through it.
  await fs.chmod(dataDir, 0o755);
  try {
    const embedded = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
    return {
      adminUrl: embedded.connectionString,
      description: `embedded Postgres in ${dataDir} (no TEST_DATABASE_URL, no Docker engine)`,
      stop: async () => {
        try {
          await embedded.stop();
        } finally {
          await fs.rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Whether a Docker engine answers its ping, checked with a short timeout: a
 * docker CLI on the PATH says nothing about whether an engine runs, and on
 * some networks any TCP connect succeeds.
 */
async function dockerEngineAnswers(dockerHost: string | undefined): Promise<boolean> {
  let target: http.RequestOptions;
  if (!dockerHost) {
    target = { socketPath: '/var/run/docker.sock' };
  } else {
    const url = new URL(dockerHost);
    if (url.protocol === 'unix:') target = { socketPath: url.pathname };
    else if (url.protocol === 'tcp:') target = { host: url.hostname, port: Number(url.port || 2375) };
    // ssh:// and the like cannot be probed cheaply; testcontainers reports its own errors.
    else return true;
  }
  return new Promise((resolve) => {
    const request = http.get({ ...target, path: '/_ping', timeout: 1_500 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve(
          (response.statusCode === 200 && body.trim() === 'OK') ||
            // A TLS-only engine (port 2376) answers plain HTTP like this.
            (response.statusCode === 400 && body.includes('HTTPS server')),
        ),
      );
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}
