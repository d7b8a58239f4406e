-- Roles (RoleService), join codes (JoinCodeService), the environments' join
-- settings, and the counters that rate limit RedeemJoinCode across instances.

-- A role is a named permission preset of one environment. Its id is internal:
-- the API names roles by name, which never changes.
CREATE TABLE roles (
  id                       uuid PRIMARY KEY,
  environment              text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  name                     text NOT NULL,
  can_publish              boolean NOT NULL DEFAULT false,
  can_subscribe            boolean NOT NULL DEFAULT false,
  can_update_metadata      boolean NOT NULL DEFAULT false,
  can_update_room          boolean NOT NULL DEFAULT false,
  can_remove_participants  boolean NOT NULL DEFAULT false,
  token_ttl_seconds        integer NOT NULL CHECK (token_ttl_seconds > 0),
  metadata                 text NOT NULL DEFAULT '{}',
  description              text NOT NULL DEFAULT '',
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT roles_environment_name_key UNIQUE (environment, name)
);

-- The role a peer was made with: role_id finds the peers UpdateRole's
-- apply_to_existing_peers changes, and is cleared when the role is deleted;
-- role_name is what Peer.role shows, kept after that.
ALTER TABLE peers
  ADD COLUMN role_id uuid REFERENCES roles (id) ON DELETE SET NULL,
  ADD COLUMN role_name text NOT NULL DEFAULT '';
CREATE INDEX peers_role_id_idx ON peers (role_id) WHERE role_id IS NOT NULL;

-- A join code. Only the code's hash is kept (code_hash, unique across
-- environments: redemption finds the code, and with it the environment, by
-- the hash alone). use_count never passes max_uses: redemption increments it
-- in the statement that checks it, under the row's lock. A role referenced by
-- a code that can still be redeemed cannot be deleted (RoleService checks,
-- holding the role's row lock, which a new code's foreign key check waits
-- for); a dead code's role_id is cleared with the role and role_name keeps
-- what ListJoinCodes shows.
CREATE TABLE join_codes (
  id           uuid PRIMARY KEY,
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  environment  text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  role_id      uuid REFERENCES roles (id) ON DELETE SET NULL,
  role_name    text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('link', 'short')),
  code_hash    bytea NOT NULL,
  code_hint    text NOT NULL,
  identity     text NOT NULL DEFAULT '',
  max_uses     integer NOT NULL CHECK (max_uses >= 1),
  use_count    integer NOT NULL DEFAULT 0 CHECK (use_count >= 0 AND use_count <= max_uses),
  app_url      text NOT NULL DEFAULT '',
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  CONSTRAINT join_codes_code_hash_key UNIQUE (code_hash)
);

-- ListJoinCodes, newest first, per environment and per room; DeleteRole's
-- check; the purge of long-dead codes.
CREATE INDEX join_codes_environment_seq_idx ON join_codes (environment, seq);
CREATE INDEX join_codes_room_id_seq_idx ON join_codes (room_id, seq);
CREATE INDEX join_codes_role_id_idx ON join_codes (role_id) WHERE role_id IS NOT NULL;
CREATE INDEX join_codes_expires_at_idx ON join_codes (expires_at);

-- An environment's allowed app URLs (JoinSettings.app_urls), in order.
CREATE TABLE join_app_urls (
  environment  text NOT NULL CHECK (environment IN ('sandbox', 'production')),
  position     integer NOT NULL CHECK (position >= 0),
  url          text NOT NULL,
  PRIMARY KEY (environment, position),
  CONSTRAINT join_app_urls_environment_url_key UNIQUE (environment, url)
);

-- RedeemJoinCode's rate limit counters, shared by every instance: one row per
-- bucket (a client address or a code hash, with its limit's name), counting
-- the attempts of the current fixed window.
CREATE TABLE join_rate_limits (
  bucket        text PRIMARY KEY,
  window_start  timestamptz NOT NULL,
  attempts      integer NOT NULL
);
CREATE INDEX join_rate_limits_window_start_idx ON join_rate_limits (window_start);
