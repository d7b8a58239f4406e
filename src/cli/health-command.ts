import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { credentials, Metadata, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { loadConfig, type Config } from '../config.js';
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from '../gen/grpc/health/v1/health.js';
import { UsageError } from './output.js';

/** Help text of `roomgate health`. */
export const HEALTH_USAGE = `Usage: roomgate health [--address HOST:PORT] [--service NAME] [--timeout-ms N]
                       [--tls] [--ca-file PATH] [--cert-file PATH --key-file PATH] [--server-name NAME]

Asks a running roomgate (default: ROOMGATE_GRPC_ADDRESS, else 127.0.0.1:50051) for
grpc.health.v1 status and exits 0 only when it is SERVING; 1 otherwise. For container
health checks.

It dials TLS with --tls or any option below, or when ROOMGATE_TLS_CERT_FILE is set (the
server's own setting, so a HEALTHCHECK with the server's environment speaks what the server
speaks). Each option falls back to an environment variable; nothing else is guessed:
  --ca-file PATH       CA that signed the server certificate (ROOMGATE_HEALTH_CA_FILE);
                       default: the system's trusted roots
  --cert-file PATH     client certificate, for a server that requires one (mutual TLS)
  --key-file PATH      and its key (ROOMGATE_HEALTH_CERT_FILE, ROOMGATE_HEALTH_KEY_FILE)
  --server-name NAME   name the server certificate must carry, when it does not name the
                       dialed host, e.g. 127.0.0.1 (ROOMGATE_HEALTH_SERVER_NAME)`;

/** Runs `roomgate health`; returns the exit code. */
export async function healthCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      address: { type: 'string' },
      service: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '3000' },
      tls: { type: 'boolean', default: false },
      'ca-file': { type: 'string' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'server-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HEALTH_USAGE + '\n');
    return 0;
  }
  const timeout = Number(values['timeout-ms']);
  if (!Number.isInteger(timeout) || timeout < 1) throw new UsageError('--timeout-ms must be a positive whole number');
  const config = loadConfig(env, { needKeys: false });
  // A server listening on every interface is reached on loopback.
  const address = (values.address ?? config.grpcAddress).replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  const channel = await channelSettings(values, config);
  const client = new HealthClient(address, channel.credentials, channel.options);
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

interface TlsFlags {
  tls?: boolean;
  'ca-file'?: string;
  'cert-file'?: string;
  'key-file'?: string;
  'server-name'?: string;
}

/** Plaintext, or TLS from the flags, else the ROOMGATE_HEALTH_* variables. */
async function channelSettings(flags: TlsFlags, config: Config): Promise<{ credentials: ChannelCredentials; options: ChannelOptions }> {
  const caFile = flags['ca-file'] ?? config.health.caFile;
  const certFile = flags['cert-file'] ?? config.health.certFile;
  const keyFile = flags['key-file'] ?? config.health.keyFile;
  const serverName = flags['server-name'] ?? config.health.serverName;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--cert-file and --key-file go together (a client certificate and its key)');
  }
  const tls = flags.tls || config.tls !== undefined || [caFile, certFile, serverName].some((v) => v !== undefined);
  if (!tls) return { credentials: credentials.createInsecure(), options: {} };
  const [ca, cert, key] = await Promise.all([read('CA', caFile), read('client certificate', certFile), read('client key', keyFile)]);
  return {
    credentials: credentials.createSsl(ca, key, cert),
    // Sets both the SNI name and the name checked against the certificate.
    options: serverName === undefined ? {} : { 'grpc.ssl_target_name_override': serverName },
  };
}

async function read(what: string, file: string | undefined): Promise<Buffer | null> {
  if (file === undefined) return null;
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
