import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bridgeSocket } from '../../src/http/grpc-web-socket.js';
import { StreamSlots } from '../../src/http/grpc-web-stream-slots.js';

describe('StreamSlots', () => {
  it('admits up to max per key, and a release (even twice) frees exactly one slot', () => {
    const slots = new StreamSlots(2, 100);
    const a = slots.take('1.2.3.4') as () => void;
    const b = slots.take('1.2.3.4') as () => void;
    expect(slots.take('1.2.3.4')).toBe('per_address');
    expect(typeof slots.take('5.6.7.8')).toBe('function');
    a();
    a();
    expect(slots.count('1.2.3.4')).toBe(1);
    expect(typeof slots.take('1.2.3.4')).toBe('function');
    expect(slots.take('1.2.3.4')).toBe('per_address');
    b();
    expect(slots.count('1.2.3.4')).toBe(1);
    expect(slots.size).toBe(2);
  });

  it('admits at most maxTotal over all keys', () => {
    const slots = new StreamSlots(2, 3);
    const releases = ['a', 'b', 'c'].map((key) => slots.take(key) as () => void);
    expect(slots.take('d')).toBe('per_server');
    releases[1]!();
    expect(typeof slots.take('d')).toBe('function');
    expect(slots.take('e')).toBe('per_server');
  });
});

describe('bridgeSocket', () => {
  it('makes a private (0700) directory for the socket, and removes it', async () => {
    const socket = await bridgeSocket();
    const dir = dirname(socket.address.slice('unix:'.length));
    expect(socket.address).toMatch(/^unix:\/.+\/grpc\.sock$/);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await socket.remove();
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('refuses, with advice, a directory it cannot write or a path too long for a Unix socket', async () => {
    await expect(bridgeSocket('/proc/no-such-dir')).rejects.toThrow(/cannot create the gRPC-Web bridge's socket directory in \/proc\/no-such-dir \(set TMPDIR/);
    const deep = await mkdtemp(join(tmpdir(), 'x'.repeat(90)));
    try {
      await expect(bridgeSocket(deep)).rejects.toThrow(/longer than a Unix socket path may be/);
      expect(await readdir(deep)).toEqual([]);
    } finally {
      await rm(deep, { recursive: true });
    }
  });
});
