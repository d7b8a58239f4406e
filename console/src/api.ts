import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { AuditService } from './gen/roomgate/v1/audit_service_pb.js';
import { BanService } from './gen/roomgate/v1/ban_service_pb.js';
import { EventService } from './gen/roomgate/v1/event_service_pb.js';
import { JoinCodeService } from './gen/roomgate/v1/join_code_service_pb.js';
import { PeerService } from './gen/roomgate/v1/peer_service_pb.js';
import { RoleService } from './gen/roomgate/v1/role_service_pb.js';
import { RoomService } from './gen/roomgate/v1/room_service_pb.js';
import { TokenService } from './gen/roomgate/v1/token_service_pb.js';

/** Clients of every public service, all sending one management token. */
export interface Api {
  rooms: Client<typeof RoomService>;
  peers: Client<typeof PeerService>;
  tokens: Client<typeof TokenService>;
  events: Client<typeof EventService>;
  bans: Client<typeof BanService>;
  audit: Client<typeof AuditService>;
  roles: Client<typeof RoleService>;
  joinCodes: Client<typeof JoinCodeService>;
}

/** Builds the clients over gRPC-Web at this page's own origin. */
export function createApi(token: string): Api {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [bearer] });
  return {
    rooms: createClient(RoomService, transport),
    peers: createClient(PeerService, transport),
    tokens: createClient(TokenService, transport),
    events: createClient(EventService, transport),
    bans: createClient(BanService, transport),
    audit: createClient(AuditService, transport),
    roles: createClient(RoleService, transport),
    joinCodes: createClient(JoinCodeService, transport),
  };
}

/** The gRPC status name of a connect-es code, e.g. PERMISSION_DENIED. */
export function codeName(code: Code): string {
  // connect-es spells it the American way; gRPC's name has two Ls.
  if (code === Code.Canceled) return 'CANCELLED';
  return (Code[code] ?? 'UNKNOWN').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** A failed call as `CODE: message`, the form every alert shows. */
export function errorText(err: unknown): string {
  const e = ConnectError.from(err);
  return `${codeName(e.code)}: ${e.rawMessage}`;
}

/** Whether an error is the caller's own abort (a page left, a stream restarted). */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException ? err.name === 'AbortError' : ConnectError.from(err).code === Code.Canceled;
}

/** Codes after which retrying a stream cannot help. */
export function isPermanent(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return [Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.Unimplemented, Code.NotFound].includes(code);
}
