#pragma once

// The PostgreSQL backend (libpq), on the schema `realtime`.
//
// Connecting: the URL is parsed by libpq (a malformed one throws StoreError);
// connect_timeout (at least 2 s, libpq's minimum) and client_encoding=UTF8 are
// added. A server that cannot be reached, a wrong password or a missing
// database throws StoreUnavailable naming host, port, database and user and
// what to check; the password never appears in any message. A connection lost
// later is re-established once per call before giving up with StoreUnavailable.
//
// Every statement carrying data is parameterised (PQexecParams, text format).
// Timestamps are sent as ISO-8601 text and read back as epoch milliseconds.
// JSON columns are jsonb: the text read back is PostgreSQL's rendering of the
// same JSON value (whitespace and key order may differ from what was written).
// The maintenance operations call the SQL functions realtime.cleanup_stale_connections(),
// realtime.cleanup_expired_broadcasts(), realtime.get_channel_members() and
// realtime.update_presence(). migrate() serialises concurrent callers with
// pg_advisory_xact_lock.

#include <chrono>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace nself::store {

// Connects to the database at `url` (postgres:// or postgresql://). Does not migrate.
std::unique_ptr<Store> open_postgres_store(const std::string& url,
                                           std::chrono::milliseconds connect_timeout);

}  // namespace nself::store
