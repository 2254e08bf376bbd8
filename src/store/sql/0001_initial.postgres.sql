-- nself realtime, initial schema (PostgreSQL). Runs inside one transaction
-- together with its realtime.schema_migrations row; see docs/SCHEMA.md.
-- Ids are v4 UUIDs made by the server; the defaults serve rows written by
-- other tools (Hasura, psql).

CREATE TABLE realtime.connections (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id         text,
  connection_id   text NOT NULL UNIQUE,
  client_ip       text,
  user_agent      text,
  node_id         text,
  status          text NOT NULL DEFAULT 'connected'
                  CHECK (status IN ('connected', 'disconnected', 'idle')),
  connected_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  disconnected_at timestamptz
);
CREATE INDEX connections_status_last_seen_idx ON realtime.connections (status, last_seen_at);
CREATE INDEX connections_user_idx ON realtime.connections (user_id);

CREATE TABLE realtime.channels (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL,
  slug          text NOT NULL UNIQUE,
  description   text NOT NULL DEFAULT '',
  type          text NOT NULL DEFAULT 'public' CHECK (type IN ('public', 'private', 'presence')),
  max_members   integer NOT NULL DEFAULT 100,
  is_persistent boolean NOT NULL DEFAULT true,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text,
  archived_at   timestamptz,
  last_seq      bigint NOT NULL DEFAULT 0
);

CREATE TABLE realtime.channel_members (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id    uuid NOT NULL REFERENCES realtime.channels (id) ON DELETE CASCADE,
  user_id       text NOT NULL,
  role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  can_send      boolean NOT NULL DEFAULT true,
  can_invite    boolean NOT NULL DEFAULT false,
  subscribed_at timestamptz NOT NULL DEFAULT now(),
  last_read_at  timestamptz,
  last_read_seq bigint NOT NULL DEFAULT 0,
  UNIQUE (channel_id, user_id)
);
CREATE INDEX channel_members_user_idx ON realtime.channel_members (user_id);

CREATE TABLE realtime.messages (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id   uuid NOT NULL REFERENCES realtime.channels (id) ON DELETE CASCADE,
  seq          bigint NOT NULL,
  user_id      text,
  content      jsonb NOT NULL,
  message_type text NOT NULL DEFAULT 'text'
               CHECK (message_type IN ('text', 'system', 'file', 'event')),
  metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
  sent_at      timestamptz NOT NULL DEFAULT now(),
  edited_at    timestamptz,
  deleted_at   timestamptz,
  UNIQUE (channel_id, seq)  -- also the index for history and replay
);
CREATE INDEX messages_sent_at_idx ON realtime.messages (sent_at);

CREATE TABLE realtime.subscriptions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  connection_id text NOT NULL,
  channel_id    uuid NOT NULL REFERENCES realtime.channels (id) ON DELETE CASCADE,
  user_id       text,
  subscribed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, channel_id)
);
CREATE INDEX subscriptions_channel_idx ON realtime.subscriptions (channel_id);

CREATE TABLE realtime.presence (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    text NOT NULL,
  channel_id uuid REFERENCES realtime.channels (id) ON DELETE CASCADE,  -- NULL: global
  status     text NOT NULL DEFAULT 'online'
             CHECK (status IN ('online', 'away', 'busy', 'offline')),
  metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One row per user and channel, the global row (NULL channel) included.
CREATE UNIQUE INDEX presence_user_channel_idx ON realtime.presence
  (user_id, (COALESCE(channel_id, '00000000-0000-0000-0000-000000000000'::uuid)));
CREATE INDEX presence_channel_idx ON realtime.presence (channel_id);
CREATE INDEX presence_updated_at_idx ON realtime.presence (updated_at);

CREATE TABLE realtime.broadcasts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id   uuid REFERENCES realtime.channels (id) ON DELETE CASCADE,  -- NULL: everyone
  user_id      text,
  event_type   text NOT NULL,
  payload      jsonb NOT NULL DEFAULT 'null'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  scheduled_at timestamptz,
  expires_at   timestamptz,
  sent_at      timestamptz
);
CREATE INDEX broadcasts_sent_scheduled_idx ON realtime.broadcasts (sent_at, scheduled_at);
CREATE INDEX broadcasts_expires_at_idx ON realtime.broadcasts (expires_at);

CREATE TABLE realtime.audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON realtime.audit_log (at);

CREATE TABLE realtime.server_state (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Connections last seen before p_cutoff that are still connected or idle
-- become disconnected (disconnected_at = their last_seen_at); their
-- subscriptions are removed, and so are the presence rows of their users when
-- those users have no live connection left. Returns how many connections.
CREATE FUNCTION realtime.cleanup_stale_connections(p_cutoff timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_connections text[];
  v_users text[];
BEGIN
  WITH stale AS (
    UPDATE realtime.connections
       SET status = 'disconnected', disconnected_at = last_seen_at
     WHERE status IN ('connected', 'idle') AND last_seen_at < p_cutoff
    RETURNING connection_id, user_id)
  SELECT COALESCE(array_agg(connection_id), '{}'),
         COALESCE(array_agg(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL), '{}')
    INTO v_connections, v_users
    FROM stale;
  DELETE FROM realtime.subscriptions WHERE connection_id = ANY (v_connections);
  DELETE FROM realtime.presence p
   WHERE p.user_id = ANY (v_users)
     AND NOT EXISTS (SELECT 1 FROM realtime.connections c
                      WHERE c.user_id = p.user_id AND c.status IN ('connected', 'idle'));
  RETURN COALESCE(array_length(v_connections, 1), 0);
END;
$$;

-- Deletes broadcasts whose expires_at is at or before p_now. Returns how many.
CREATE FUNCTION realtime.cleanup_expired_broadcasts(p_now timestamptz DEFAULT now())
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
BEGIN
  DELETE FROM realtime.broadcasts WHERE expires_at <= p_now;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END;
$$;

-- The members of a channel, ordered by subscribed_at, then user_id.
CREATE FUNCTION realtime.get_channel_members(p_channel_id uuid)
RETURNS SETOF realtime.channel_members LANGUAGE sql STABLE AS $$
  SELECT * FROM realtime.channel_members
   WHERE channel_id = p_channel_id
   ORDER BY subscribed_at, user_id;
$$;

-- Inserts or updates the presence row of (user, channel); a NULL channel is
-- the user's global presence.
CREATE FUNCTION realtime.update_presence(p_user_id text, p_channel_id uuid, p_status text,
                                         p_metadata jsonb DEFAULT '{}'::jsonb,
                                         p_at timestamptz DEFAULT now())
RETURNS void LANGUAGE sql AS $$
  INSERT INTO realtime.presence (user_id, channel_id, status, metadata, updated_at)
  VALUES (p_user_id, p_channel_id, p_status, COALESCE(p_metadata, '{}'::jsonb), p_at)
  ON CONFLICT (user_id, (COALESCE(channel_id, '00000000-0000-0000-0000-000000000000'::uuid)))
  DO UPDATE SET status = EXCLUDED.status, metadata = EXCLUDED.metadata,
                updated_at = EXCLUDED.updated_at;
$$;
