import * as grpc from '@grpc/grpc-js';
import { FILE_DESCRIPTOR_SET_BASE64 } from '../gen/descriptor-set.js';
import * as auditMessages from '../gen/roomgate/v1/audit_service.js';
import * as banMessages from '../gen/roomgate/v1/ban_service.js';
import * as eventMessages from '../gen/roomgate/v1/event_service.js';
import * as joinCodeMessages from '../gen/roomgate/v1/join_code_service.js';
import * as peerMessages from '../gen/roomgate/v1/peer_service.js';
import * as roleMessages from '../gen/roomgate/v1/role_service.js';
import * as roomMessages from '../gen/roomgate/v1/room_service.js';
import * as tokenMessages from '../gen/roomgate/v1/token_service.js';
import type { AuditManager } from '../domain/audit-manager.js';
import type { BanManager } from '../domain/ban-manager.js';
import type { JoinCodeManager } from '../domain/join-code-manager.js';
import type { JoinSettingsManager } from '../domain/join-settings-manager.js';
import type { PeerManager } from '../domain/peer-manager.js';
import type { RoleManager } from '../domain/role-manager.js';
import type { RoomManager } from '../domain/room-manager.js';
import { auditService } from './audit-service.js';
import { banService } from './ban-service.js';
import { clientAddressInterceptor, TRUST_NO_ONE, type CallAddressTrust } from './call-address.js';
import { eventService, type EventServiceManagers } from './event-service.js';
import { HEALTH_SERVICE_NAME, ServerHealth } from './health.js';
import { joinCodeService } from './join-code-service.js';
import { joinSettingsService } from './join-settings-service.js';
import { peerService } from './peer-service.js';
import { addReflectionService, REFLECTION_SERVICE_NAMES } from './reflection-service.js';
import { roleService } from './role-service.js';
import { roomService } from './room-service.js';
import { withStrictUtf8 } from './strict-utf8.js';
import { tokenService, type TokenServiceManagers } from './token-service.js';
import type { UnaryDeps } from './unary.js';

/** The roomgate.v1 services, by fully qualified name. */
export const ROOMGATE_SERVICE_NAMES = [
  'roomgate.v1.RoomService',
  'roomgate.v1.PeerService',
  'roomgate.v1.TokenService',
  'roomgate.v1.EventService',
  'roomgate.v1.BanService',
  'roomgate.v1.AuditService',
  'roomgate.v1.RoleService',
  'roomgate.v1.JoinCodeService',
];

/** What the server calls into. */
export interface ServerDeps extends UnaryDeps, TokenServiceManagers, EventServiceManagers {
  rooms: RoomManager;
  peers: PeerManager;
  bans: BanManager;
  auditLog: AuditManager;
  /** Whom to believe about a call's client address (callClientKey); no one when unset. */
  callAddresses?: CallAddressTrust;
  roles: RoleManager;
  joinCodes: JoinCodeManager;
  joinSettings: JoinSettingsManager;
  watchEvents: grpc.handleServerStreamingCall<eventMessages.WatchEventsRequest, eventMessages.WatchEventsResponse>;
}

/** A method the server serves, as a bridge needs to know it. */
export interface ServedMethod {
  /** `/package.Service/Method`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** A gRPC server with every roomgate service, reflection and health. */
export interface RoomgateServer {
  server: grpc.Server;
  health: ServerHealth;
  /** Every method added to {@link server}, by path: what the gRPC-Web bridge serves (src/http/grpc-web-routes.ts). */
  methods: ReadonlyMap<string, ServedMethod>;
  /** Binds `address` (host:port; port 0 picks one) with `credentials` (plaintext when unset); returns the bound port. */
  listen(address: string, credentials?: grpc.ServerCredentials): Promise<number>;
  /** Health NOT_SERVING, then a graceful shutdown forced after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/** grpc-js limits and keepalive settings. */
export interface ServerOptions {
  maxMessageBytes: number;
  maxConcurrentStreams: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

/** Builds the server; nothing listens until {@link RoomgateServer.listen}. */
export function createRoomgateServer(deps: ServerDeps, options?: ServerOptions): RoomgateServer {
  // A request over the size limit is refused with RESOURCE_EXHAUSTED before it is decoded.
  const server = new RecordingServer({
    ...(options && {
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    }),
    interceptors: [clientAddressInterceptor(deps.callAddresses ?? TRUST_NO_ONE)],
  });
  server.addService(withStrictUtf8(roomMessages.RoomServiceService, roomMessages), roomService(deps, deps.rooms));
  server.addService(withStrictUtf8(peerMessages.PeerServiceService, peerMessages), peerService(deps, deps.peers));
  server.addService(withStrictUtf8(tokenMessages.TokenServiceService, tokenMessages), tokenService(deps, deps));
  server.addService(withStrictUtf8(eventMessages.EventServiceService, eventMessages), eventService(deps, deps, deps.watchEvents));
  server.addService(withStrictUtf8(banMessages.BanServiceService, banMessages), banService(deps, deps.bans));
  server.addService(withStrictUtf8(auditMessages.AuditServiceService, auditMessages), auditService(deps, deps.auditLog));
  server.addService(withStrictUtf8(roleMessages.RoleServiceService, roleMessages), roleService(deps, deps.roles));
  const joinCodeMethods: joinCodeMessages.JoinCodeServiceServer = {
    ...joinCodeService(deps, deps.joinCodes),
    ...joinSettingsService(deps, deps.joinSettings),
  };
  server.addService(withStrictUtf8(joinCodeMessages.JoinCodeServiceService, joinCodeMessages), joinCodeMethods);
  const health = new ServerHealth(ROOMGATE_SERVICE_NAMES, 'SERVING');
  health.addToServer(server);
  addReflectionService(server, {
    descriptorSet: Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'),
    services: [...ROOMGATE_SERVICE_NAMES, HEALTH_SERVICE_NAME, ...REFLECTION_SERVICE_NAMES],
  });

  return {
    server,
    health,
    methods: server.methods,
    listen: (address, credentials = grpc.ServerCredentials.createInsecure()) =>
      new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (err, port) =>
          err ? reject(err) : resolve(port),
        );
      }),
    close: (graceMs = 5_000) =>
      new Promise((resolve) => {
        health.setStatus('NOT_SERVING');
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** A grpc.Server that remembers every method added to it, whoever adds it, so that nothing else keeps a second list. */
class RecordingServer extends grpc.Server {
  readonly methods = new Map<string, ServedMethod>();

  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(service, implementation);
    for (const { path, requestStream, responseStream } of Object.values(service)) {
      this.methods.set(path, { path, requestStream, responseStream });
    }
  }
}
