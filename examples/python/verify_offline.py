#!/usr/bin/env python3
"""Verify roomgate peer tokens offline, as a media server does: with the public
keys from roomgate's JWKS URL, fetched and cached by PyJWT's PyJWKClient, and
no call to roomgate per token.

Run as a program, it reads one token per line on stdin and writes one line per
token to stdout:

  valid peer <peer_id> room <room_id> kid <kid>
  invalid <why>

Environment:
  ROOMGATE_JWKS_URL     the JWKS URL (default http://127.0.0.1:8080/.well-known/jwks.json)
  ROOMGATE_ISSUER       the issuer roomgate signs with (ROOMGATE_ISSUER there; default roomgate)
  ROOMGATE_ENVIRONMENT  the environment the tokens must be for (default sandbox)

Offline verification checks the signature and the claims. It cannot see that a
peer was deleted or its token refreshed before the token expires; ask
VerifyPeerToken (roomgate_example.py does) when that matters.
"""

import os
import sys
import time

try:
    import jwt
except ImportError as err:
    print(f"cannot import jwt ({err}): apt-get install python3-jwt, and run this with /usr/bin/python3", file=sys.stderr)
    sys.exit(2)

DEFAULT_JWKS_URL = "http://127.0.0.1:8080/.well-known/jwks.json"
# roomgate's peer tokens say so in their header; any other JWT signed with the
# same keys (none today) must not pass as a peer token.
PEER_TOKEN_TYPE = "roomgate-peer+jwt"
PEER_TOKEN_ALGORITHM = "EdDSA"
# A token naming a key this verifier does not hold makes it fetch the keys
# again, but at most this often: otherwise anyone could make every media server
# fetch the JWKS once per made-up token.
UNKNOWN_KID_REFRESH_SECONDS = 1.0


class OfflineVerifier:
    """Checks peer tokens against the keys at a JWKS URL.

    PyJWKClient caches the key set for `cache_seconds`. Any value up to the
    max-age roomgate sends (Cache-Control on the JWKS; 3565 s with the default
    settings) means the next signing key is always here before it signs; the
    default 300 s is well within that. A token with an unknown kid (a key
    rotated in with no pre-publish period) triggers a fetch at once.
    """

    def __init__(self, jwks_url: str, issuer: str = "roomgate", environment: str = "sandbox",
                 cache_seconds: int = 300, leeway_seconds: int = 5):
        self.keys = jwt.PyJWKClient(jwks_url, lifespan=cache_seconds)
        self.issuer = issuer
        self.audience = f"roomgate:{environment}"
        self.leeway = leeway_seconds
        self.last_refresh = float("-inf")

    def signing_key(self, kid) -> jwt.PyJWK:
        key = self.keys.match_kid(self.keys.get_signing_keys(), kid)
        if key is None and time.monotonic() - self.last_refresh >= UNKNOWN_KID_REFRESH_SECONDS:
            self.last_refresh = time.monotonic()
            key = self.keys.match_kid(self.keys.get_signing_keys(refresh=True), kid)
        if key is None:
            raise jwt.InvalidTokenError(f"no key {kid!r} at the JWKS URL")
        return key

    def verify(self, token: str) -> dict:
        """The token's claims; raises jwt.InvalidTokenError (or PyJWKClientError) when it does not verify."""
        header = jwt.get_unverified_header(token)
        if header.get("typ") != PEER_TOKEN_TYPE or header.get("alg") != PEER_TOKEN_ALGORITHM:
            raise jwt.InvalidTokenError("not a roomgate peer token")
        claims = jwt.decode(
            token,
            self.signing_key(header.get("kid")).key,
            algorithms=[PEER_TOKEN_ALGORITHM],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "iat", "nbf", "jti", "sub", "aud", "iss"]},
        )
        return {**claims, "kid": header["kid"]}


def main() -> int:
    verifier = OfflineVerifier(
        os.environ.get("ROOMGATE_JWKS_URL") or DEFAULT_JWKS_URL,
        issuer=os.environ.get("ROOMGATE_ISSUER") or "roomgate",
        environment=os.environ.get("ROOMGATE_ENVIRONMENT") or "sandbox",
    )
    for line in sys.stdin:
        token = line.strip()
        if not token:
            continue
        try:
            claims = verifier.verify(token)
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as err:
            print(f"invalid {type(err).__name__}: {err}", flush=True)
            continue
        print(f"valid peer {claims['sub']} room {claims['room']} kid {claims['kid']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
