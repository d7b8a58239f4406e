import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import * as banMessages from '../gen/roomgate/v1/ban_service.js';
import { BanServiceClient } from '../gen/roomgate/v1/ban_service.js';
import * as eventMessages from '../gen/roomgate/v1/event_service.js';
import { EventServiceClient } from '../gen/roomgate/v1/event_service.js';
import * as joinCodeMessages from '../gen/roomgate/v1/join_code_service.js';
import { JoinCodeServiceClient } from '../gen/roomgate/v1/join_code_service.js';
import * as peerMessages from '../gen/roomgate/v1/peer_service.js';
import { PeerServiceClient } from '../gen/roomgate/v1/peer_service.js';
import * as roleMessages from '../gen/roomgate/v1/role_service.js';
import { RoleServiceClient } from '../gen/roomgate/v1/role_service.js';
import * as roomMessages from '../gen/roomgate/v1/room_service.js';
import { RoomServiceClient } from '../gen/roomgate/v1/room_service.js';
import * as tokenMessages from '../gen/roomgate/v1/token_service.js';
import { TokenServiceClient } from '../gen/roomgate/v1/token_service.js';

export { BanServiceClient, EventServiceClient, JoinCodeServiceClient, PeerServiceClient, RoleServiceClient, RoomServiceClient, TokenServiceClient };
export { EventType, DeliveryState, type Event, type WebhookDelivery, type WebhookEndpoint } from '../gen/roomgate/v1/events.js';
import type { DeepPartial } from '../gen/roomgate/v1/room_service.js';
export type {
  CreateBanRequest,
  CreateBanResponse,
  DeleteBanRequest,
  GetBanRequest,
  ListBansRequest,
  ListBansResponse,
} from '../gen/roomgate/v1/ban_service.js';
export type {
  CreatePeerRequest,
  CreatePeerResponse,
  DeletePeerBan,
  DeletePeerRequest,
  DeletePeerResponse,
  GetPeerRequest,
  ListPeersRequest,
  ListPeersResponse,
  UpdatePeerMetadataRequest,
} from '../gen/roomgate/v1/peer_service.js';
export type {
  CreateRoomRequest,
  DeleteRoomRequest,
  GetRoomRequest,
  ListRoomsRequest,
  ListRoomsResponse,
  UpdateRoomRequest,
} from '../gen/roomgate/v1/room_service.js';
export { TokenInvalidReason } from '../gen/roomgate/v1/token_service.js';
export type {
  RefreshPeerTokenRequest,
  VerifyPeerTokenRequest,
  VerifyPeerTokenResponse,
} from '../gen/roomgate/v1/token_service.js';
export { Environment } from '../gen/roomgate/v1/resources.js';
export { JoinCodeKind, PeerStatus } from '../gen/roomgate/v1/resources.js';
export type { Ban, JoinCode, Peer, PeerPermissions, PeerTokenClaims, Role, Room } from '../gen/roomgate/v1/resources.js';
export type {
  CreateJoinCodeRequest,
  CreateJoinCodeResponse,
  RedeemJoinCodeRequest,
  RedeemJoinCodeResponse,
} from '../gen/roomgate/v1/join_code_service.js';

/** Per-call options of the promise-based client. */
export interface CallSettings {
  /** Bearer token for this call, instead of the client's. */
  token?: string;
  /** Deadline for this call, in milliseconds from now. */
  deadlineMs?: number;
  /** Extra metadata, such as x-request-id. */
  metadata?: Metadata;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A generated client with each unary method turned into `(request, settings?) => Promise<response>`. */
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends UnaryMethod<infer _Req, infer _Res> ? K : never]: C[K] extends UnaryMethod<
    infer Req,
    infer Res
  >
    ? (request: DeepPartial<Req>, settings?: CallSettings) => Promise<Res>
    : never;
};

/** Options of {@link createRoomgateClient}. */
export interface RoomgateClientOptions {
  /** Default bearer token: a management token for backends, a peer token for clients. */
  token?: string;
  /** Default deadline of every call, in milliseconds; 10 s unless set. */
  deadlineMs?: number;
  /** Channel credentials; insecure unless set (use grpc.credentials.createSsl() in production). */
  credentials?: ChannelCredentials;
}

/** Promise-based roomgate clients that attach the bearer token and a deadline to every call. */
export interface RoomgateClient {
  rooms: PromiseClient<RoomServiceClient>;
  peers: PromiseClient<PeerServiceClient>;
  tokens: PromiseClient<TokenServiceClient>;
  /** EventService's unary methods; for WatchEvents use `eventStream`. */
  events: PromiseClient<EventServiceClient>;
  /** The generated EventService client, for the WatchEvents stream. */
  eventStream: EventServiceClient;
  bans: PromiseClient<BanServiceClient>;
  roles: PromiseClient<RoleServiceClient>;
  /** Join codes and join settings; RedeemJoinCode needs no token (the code is the credential). */
  joinCodes: PromiseClient<JoinCodeServiceClient>;
  close(): void;
}

type MessageModule = Record<string, unknown>;

function promiseClient<C extends object>(
  client: C,
  messages: MessageModule,
  defaults: RoomgateClientOptions,
): PromiseClient<C> {
  return new Proxy({} as PromiseClient<C>, {
    get(_, name) {
      const method = (client as Record<string | symbol, unknown>)[name];
      if (typeof method !== 'function' || typeof name !== 'string') return undefined;
      // buf lint (RPC_REQUEST_STANDARD_NAME) guarantees method Foo takes FooRequest,
      // whose fromPartial fills the fields a caller left out.
      const type = messages[name[0]!.toUpperCase() + name.slice(1) + 'Request'] as
        | { fromPartial(p: unknown): unknown }
        | undefined;
      if (!type) return undefined;
      return (partial: unknown, settings: CallSettings = {}) =>
        new Promise((resolve, reject) => {
          const metadata = settings.metadata?.clone() ?? new Metadata();
          const token = settings.token ?? defaults.token;
          if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
          const deadline = Date.now() + (settings.deadlineMs ?? defaults.deadlineMs ?? 10_000);
          (method as UnaryMethod<unknown, unknown>).call(client, type.fromPartial(partial), metadata, { deadline }, (err, res) =>
            err ? reject(err) : resolve(res),
          );
        });
    },
  });
}

/**
 * Connects to roomgate at `address` (host:port). One channel is shared by
 * every service.
 */
export function createRoomgateClient(address: string, options: RoomgateClientOptions = {}): RoomgateClient {
  const creds = options.credentials ?? grpcCredentials.createInsecure();
  const rooms = new RoomServiceClient(address, creds);
  const channelOverride = { channelOverride: rooms.getChannel() };
  const peers = new PeerServiceClient(address, creds, channelOverride);
  const tokens = new TokenServiceClient(address, creds, channelOverride);
  const events = new EventServiceClient(address, creds, channelOverride);
  const bans = new BanServiceClient(address, creds, channelOverride);
  const roles = new RoleServiceClient(address, creds, channelOverride);
  const joinCodes = new JoinCodeServiceClient(address, creds, channelOverride);
  return {
    rooms: promiseClient(rooms, roomMessages, options),
    peers: promiseClient(peers, peerMessages, options),
    tokens: promiseClient(tokens, tokenMessages, options),
    events: promiseClient(events, eventMessages, options),
    eventStream: events,
    bans: promiseClient(bans, banMessages, options),
    roles: promiseClient(roles, roleMessages, options),
    joinCodes: promiseClient(joinCodes, joinCodeMessages, options),
    close: () => rooms.close(),
  };
}
