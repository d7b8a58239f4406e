#!/usr/bin/env python3
"""A Python backend calling roomgate: create a room, create a peer in it, and
verify the peer token, as a media server would: online with VerifyPeerToken,
and offline with the keys from roomgate's JWKS URL (verify_offline.py).

Run generate.sh first; see README.md.

Environment:
  ROOMGATE_ADDRESS   host:port of roomgate (default 127.0.0.1:50051)
  ROOMGATE_TOKEN     a management token with the rooms and verify scopes (or admin)
  ROOMGATE_JWKS_URL  roomgate's JWKS URL (default http://127.0.0.1:8080/.well-known/jwks.json)
  ROOMGATE_GEN_DIR   where generate.sh wrote the stubs (default: gen/ next to this file)

Exits 0 when every step worked, 1 when a call failed, 2 when misconfigured.
"""

import json
import os
import sys
import uuid
from pathlib import Path

try:
    import grpc
except ImportError as err:
    print(f"cannot import grpc ({err}): apt-get install python3-grpcio, and run this with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

try:
    import jwt
except ImportError as err:
    print(f"cannot import jwt ({err}): apt-get install python3-jwt, and run this with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

from verify_offline import DEFAULT_JWKS_URL, OfflineVerifier

sys.path.insert(0, os.environ.get("ROOMGATE_GEN_DIR") or str(Path(__file__).resolve().parent / "gen"))
try:
    from roomgate.v1 import (
        peer_service_pb2,
        peer_service_pb2_grpc,
        resources_pb2,
        room_service_pb2,
        room_service_pb2_grpc,
        token_service_pb2,
        token_service_pb2_grpc,
    )
    from google.rpc import error_details_pb2, status_pb2
except ImportError as err:
    print(f"cannot import the roomgate stubs ({err}): run examples/python/generate.sh first", file=sys.stderr)
    sys.exit(2)

# Every call gets a deadline: without one, a call to an unreachable server waits forever.
DEADLINE_SECONDS = 5.0
# roomgate sends a google.rpc.Status in this trailer, as gRPC's rich error model says.
STATUS_DETAILS_TRAILER = "grpc-status-details-bin"


def rich_status(err: grpc.RpcError):
    """The google.rpc.Status of a failed call, or None if it has none.

    This is what grpcio-status's grpc_status.rpc_status.from_call(err) does;
    Debian 12 does not package grpcio-status, so it is spelled out here. With
    it installed, call from_call instead.
    """
    for key, value in err.trailing_metadata() or ():
        if key == STATUS_DETAILS_TRAILER:
            status = status_pb2.Status.FromString(value)
            if status.code != err.code().value[0] or status.message != err.details():
                raise ValueError("the status details do not match the call's status")
            return status
    return None


def describe(err: grpc.RpcError) -> str:
    """The status, message, and the ErrorInfo reason and BadRequest fields from the details."""
    facts = []
    status = rich_status(err)
    for detail in status.details if status else ():
        # roomgate's stable error code (ERR_ROOM_NOT_FOUND, ...) is the reason;
        # info.metadata holds more, such as the scope a token lacks.
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            facts.append(f"reason {info.reason}")
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            facts += [f"field {violation.field}" for violation in bad_request.field_violations]
    return f"{err.code().name}: {err.details()} ({', '.join(facts) or 'no details'})"


def main() -> int:
    address = os.environ.get("ROOMGATE_ADDRESS") or "127.0.0.1:50051"
    token = os.environ.get("ROOMGATE_TOKEN")
    if not token:
        print("set ROOMGATE_TOKEN to a management token (node bin/roomgate.js token create --environment sandbox)", file=sys.stderr)
        return 2

    # Plaintext, as `npm start` serves. For a TLS listener use
    # grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=...)).
    with grpc.insecure_channel(address) as channel:
        rooms = room_service_pb2_grpc.RoomServiceStub(channel)
        peers = peer_service_pb2_grpc.PeerServiceStub(channel)
        tokens = token_service_pb2_grpc.TokenServiceStub(channel)
        # The management token goes in the authorization metadata of every call.
        call = {"metadata": [("authorization", f"Bearer {token}")], "timeout": DEADLINE_SECONDS}

        try:
            room = rooms.CreateRoom(
                room_service_pb2.CreateRoomRequest(
                    name=f"python-example-{uuid.uuid4().hex[:8]}",
                    max_peers=10,
                    metadata=json.dumps({"topic": "daily"}),
                ),
                **call,
            ).room
            print(f"created room {room.id} (name {room.name}, max_peers {room.max_peers})")

            created = peers.CreatePeer(
                peer_service_pb2.CreatePeerRequest(
                    room_id=room.id,
                    identity="user-123",
                    name="John",
                    permissions=resources_pb2.PeerPermissions(can_publish=True, can_subscribe=True),
                    token_ttl_seconds=3600,
                ),
                **call,
            )
            peer = created.peer
            # created.peer_token is what your backend hands to the browser or app.
            expires = created.token_expire_time.ToDatetime().isoformat()
            print(f"created peer {peer.id} (identity {peer.identity}) with a peer token that expires at {expires}Z")

            verified = tokens.VerifyPeerToken(
                token_service_pb2.VerifyPeerTokenRequest(token=created.peer_token, room_id=room.id),
                **call,
            )
        except grpc.RpcError as err:
            print(f"roomgate call failed: {describe(err)}", file=sys.stderr)
            return 1

        if not verified.valid:
            reason = token_service_pb2.TokenInvalidReason.Name(verified.reason)
            print(f"the new peer token did not verify: {reason}", file=sys.stderr)
            return 1
        claims = verified.claims
        if (claims.peer_id, claims.room_id) != (peer.id, room.id):
            print(f"the peer token names peer {claims.peer_id} in room {claims.room_id}", file=sys.stderr)
            return 1
        print(
            f"verified the peer token: valid for peer {claims.peer_id} in room {claims.room_id}, "
            f"can_publish={claims.permissions.can_publish} can_subscribe={claims.permissions.can_subscribe}"
        )

        # What a media server does per connection: verify offline, with the
        # keys fetched from the JWKS URL once and cached, and no call to roomgate.
        jwks_url = os.environ.get("ROOMGATE_JWKS_URL") or DEFAULT_JWKS_URL
        try:
            offline = OfflineVerifier(jwks_url).verify(created.peer_token)
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as err:
            print(f"offline verification with the keys at {jwks_url} failed: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
        print(
            f"verified the peer token offline with the keys at {jwks_url}: peer {offline['sub']} in room {offline['room']}, "
            f"key {offline['kid']}, can_publish={offline['permissions']['canPublish']}"
        )

        # A failed call raises grpc.RpcError, which carries the status code, a
        # message, and a google.rpc.Status with roomgate's stable error code.
        missing = str(uuid.uuid4())
        try:
            rooms.GetRoom(room_service_pb2.GetRoomRequest(room_id=missing), **call)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                print(f"GetRoom of a random id: expected NOT_FOUND, got {describe(err)}", file=sys.stderr)
                return 1
            print(f"GetRoom of a random id failed as expected: {describe(err)}")
        else:
            print(f"GetRoom of a random id ({missing}) found a room", file=sys.stderr)
            return 1

        # A bad request also names the field, in a BadRequest detail.
        try:
            rooms.CreateRoom(room_service_pb2.CreateRoomRequest(max_peers=3_000_000_000), **call)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
                print(f"CreateRoom with max_peers 3000000000: expected INVALID_ARGUMENT, got {describe(err)}", file=sys.stderr)
                return 1
            print(f"CreateRoom with max_peers 3000000000 failed as expected: {describe(err)}")
        else:
            print("CreateRoom with max_peers 3000000000 created a room", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
