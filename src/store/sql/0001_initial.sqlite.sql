-- nself realtime, initial schema (SQLite). The data file is attached as the
-- schema `realtime`, so every table is realtime.<name>; references and index
-- targets are unqualified because SQLite resolves them inside that schema.
-- Runs inside one transaction together with its realtime.schema_migrations row.
-- Timestamps are ISO-8601 UTC text 'YYYY-MM-DDTHH:MM:SS.mmmZ' (sortable);
-- booleans are 0/1; JSON columns hold JSON text checked by json_valid().
-- Ids are v4 UUIDs made by the server (lower-case text).

CREATE TABLE realtime.connections (
  id              TEXT PRIMARY KEY NOT NULL,
  user_id         TEXT,
  connection_id   TEXT NOT NULL UNIQUE,
  client_ip       TEXT,
  user_agent      TEXT,
  node_id         TEXT,
  status          TEXT NOT NULL DEFAULT 'connected'
                  CHECK (status IN ('connected', 'disconnected', 'idle')),
  connected_at    TEXT NOT NULL,
  last_seen_at    TEXT NOT NULL,
  disconnected_at TEXT
);
CREATE INDEX realtime.connections_status_last_seen_idx ON connections (status, last_seen_at);
CREATE INDEX realtime.connections_user_idx ON connections (user_id);

CREATE TABLE realtime.channels (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL,
  slug          TEXT NOT NULL UNIQUE,
  description   TEXT NOT NULL DEFAULT '',
  type          TEXT NOT NULL DEFAULT 'public' CHECK (type IN ('public', 'private', 'presence')),
  max_members   INTEGER NOT NULL DEFAULT 100,
  is_persistent INTEGER NOT NULL DEFAULT 1 CHECK (is_persistent IN (0, 1)),
  metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  created_at    TEXT NOT NULL,
  created_by    TEXT,
  archived_at   TEXT,
  last_seq      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE realtime.channel_members (
  id            TEXT PRIMARY KEY NOT NULL,
  channel_id    TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL,
  role          TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  can_send      INTEGER NOT NULL DEFAULT 1 CHECK (can_send IN (0, 1)),
  can_invite    INTEGER NOT NULL DEFAULT 0 CHECK (can_invite IN (0, 1)),
  subscribed_at TEXT NOT NULL,
  last_read_at  TEXT,
  last_read_seq INTEGER NOT NULL DEFAULT 0,
  UNIQUE (channel_id, user_id)
);
CREATE INDEX realtime.channel_members_user_idx ON channel_members (user_id);

CREATE TABLE realtime.messages (
  id           TEXT PRIMARY KEY NOT NULL,
  channel_id   TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  user_id      TEXT,
  content      TEXT NOT NULL CHECK (json_valid(content)),
  message_type TEXT NOT NULL DEFAULT 'text'
               CHECK (message_type IN ('text', 'system', 'file', 'event')),
  metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  sent_at      TEXT NOT NULL,
  edited_at    TEXT,
  deleted_at   TEXT,
  UNIQUE (channel_id, seq)
);
CREATE INDEX realtime.messages_sent_at_idx ON messages (sent_at);

CREATE TABLE realtime.subscriptions (
  id            TEXT PRIMARY KEY NOT NULL,
  connection_id TEXT NOT NULL,
  channel_id    TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  user_id       TEXT,
  subscribed_at TEXT NOT NULL,
  UNIQUE (connection_id, channel_id)
);
CREATE INDEX realtime.subscriptions_channel_idx ON subscriptions (channel_id);

CREATE TABLE realtime.presence (
  id         TEXT PRIMARY KEY NOT NULL,
  user_id    TEXT NOT NULL,
  channel_id TEXT REFERENCES channels (id) ON DELETE CASCADE,  -- NULL: global
  status     TEXT NOT NULL DEFAULT 'online'
             CHECK (status IN ('online', 'away', 'busy', 'offline')),
  metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  updated_at TEXT NOT NULL
);
-- One row per user and channel, the global row (NULL channel) included.
CREATE UNIQUE INDEX realtime.presence_user_channel_idx
  ON presence (user_id, COALESCE(channel_id, ''));
CREATE INDEX realtime.presence_channel_idx ON presence (channel_id);
CREATE INDEX realtime.presence_updated_at_idx ON presence (updated_at);

CREATE TABLE realtime.broadcasts (
  id           TEXT PRIMARY KEY NOT NULL,
  channel_id   TEXT REFERENCES channels (id) ON DELETE CASCADE,  -- NULL: everyone
  user_id      TEXT,
  event_type   TEXT NOT NULL,
  payload      TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(payload)),
  created_at   TEXT NOT NULL,
  scheduled_at TEXT,
  expires_at   TEXT,
  sent_at      TEXT
);
CREATE INDEX realtime.broadcasts_sent_scheduled_idx ON broadcasts (sent_at, scheduled_at);
CREATE INDEX realtime.broadcasts_expires_at_idx ON broadcasts (expires_at);

CREATE TABLE realtime.audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT,
  details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
CREATE INDEX realtime.audit_log_at_idx ON audit_log (at);

CREATE TABLE realtime.server_state (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
