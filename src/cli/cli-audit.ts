import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { withAuditScope } from '../context/audit-scope.js';
import type { AuditActor } from '../domain/audit-record.js';
import type { Environment } from '../domain/principal.js';

/** The OS user running this process; its uid when it has no name (a container without a passwd entry). */
export function osUser(): string {
  try {
    return userInfo().username || String(process.getuid?.() ?? 'unknown');
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/**
 * Runs `fn` as the audited CLI command `command` (`token create`): a change it
 * makes is recorded with actor `cli` and the OS user, method `cli <command>`
 * and a fresh request id. `environment` is where a change with none of its
 * own (a signing key) is recorded; a store names its data's environment.
 */
export function asCliCommand<T>(command: string, environment: Environment | undefined, fn: () => Promise<T>): Promise<T> {
  const actor: AuditActor = { kind: 'cli', osUser: osUser() };
  return withAuditScope({ method: `cli ${command}`, requestId: randomUUID(), environment, actor }, fn);
}
