-- Core schema: management tokens, signing keys, rooms, peers, idempotency.

CREATE TABLE management_tokens (
  id            uuid PRIMARY KEY,
  environment   text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  name          text NOT NULL DEFAULT '',
  -- SHA-256 of the whole token; the token itself is never stored.
  token_hash    bytea NOT NULL UNIQUE,
  -- Prefix and last four characters, safe to show in listings.
  hint          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  expires_at    timestamptz,
  revoked_at    timestamptz
);

CREATE TABLE signing_keys (
  kid                   text PRIMARY KEY,
  algorithm             text NOT NULL,
  public_jwk            jsonb NOT NULL,
  -- AES-256-GCM(iv || ciphertext || tag) of the PKCS#8 private key, with the kid
  -- as additional data.
  private_key_encrypted bytea NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  activated_at          timestamptz,
  retired_at            timestamptz
);

CREATE TABLE rooms (
  id           uuid PRIMARY KEY,
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  environment  text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  name         text,
  max_peers    integer NOT NULL DEFAULT 0 CHECK (max_peers >= 0),
  -- Maintained in the same transaction as every peer insert and delete; the
  -- conditional increment is what enforces max_peers under concurrency.
  peer_count   integer NOT NULL DEFAULT 0 CHECK (peer_count >= 0),
  metadata     text NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT rooms_environment_name_key UNIQUE (environment, name)
);

CREATE INDEX rooms_environment_seq_idx ON rooms (environment, seq);

CREATE TABLE peers (
  id                       uuid PRIMARY KEY,
  seq                      bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  room_id                  uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  identity                 text NOT NULL,
  name                     text NOT NULL DEFAULT '',
  metadata                 text NOT NULL DEFAULT '{}',
  client_metadata          text NOT NULL DEFAULT '{}',
  can_publish              boolean NOT NULL DEFAULT false,
  can_subscribe            boolean NOT NULL DEFAULT false,
  can_update_metadata      boolean NOT NULL DEFAULT false,
  can_update_room          boolean NOT NULL DEFAULT false,
  can_remove_participants  boolean NOT NULL DEFAULT false,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT peers_room_id_identity_key UNIQUE (room_id, identity)
);

CREATE INDEX peers_room_id_seq_idx ON peers (room_id, seq);

CREATE TABLE idempotency_keys (
  environment   text NOT NULL,
  operation     text NOT NULL,
  request_id    text NOT NULL,
  -- SHA-256 of the canonical request, to refuse a reused key with other input.
  request_hash  bytea NOT NULL,
  -- The first result, enough to answer a retry identically.
  result        jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, operation, request_id)
);
