import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { loadConfig } from '../config.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../gen/grpc/health/v1/health.js';
import { UsageError } from './output.js';

/** Help text of `roomgate health`. */
export const HEALTH_USAGE = `Usage: roomgate health [--address HOST:PORT] [--service NAME] [--timeout-ms N]

Asks a running roomgate (default: ROOMGATE_GRPC_ADDRESS, else 127.0.0.1:50051) for
grpc.health.v1 status and exits 0 only when it is SERVING; 1 otherwise. For container
health checks.`;

/** Runs `roomgate health`; returns the exit code. */
export async function healthCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      address: { type: 'string' },
      service: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '3000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HEALTH_USAGE + '\n');
    return 0;
  }
  const timeout = Number(values['timeout-ms']);
  if (!Number.isInteger(timeout) || timeout < 1) throw new UsageError('--timeout-ms must be a positive whole number');
  // A server listening on every interface is reached on loopback.
  const configured = values.address ?? loadConfig(env, { needKeys: false }).grpcAddress;
  const address = configured.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  const client = new HealthClient(address, credentials.createInsecure());
  try {
    const status = await new Promise<Serving | Error>((resolve) =>
      client.check({ service: values.service ?? '' }, new Metadata(), { deadline: Date.now() + timeout }, (err, res) =>
        resolve(err ?? res.status),
      ),
    );
    const serving = status === Serving.SERVING;
    process.stdout.write(
      serving ? 'SERVING\n' : status instanceof Error ? `unreachable: ${status.message}\n` : `${Serving[status] ?? status}\n`,
    );
    return serving ? 0 : 1;
  } finally {
    client.close();
  }
}
