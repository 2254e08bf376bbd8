#pragma once

// REDIS_URL parsing (docs/CONFIGURATION.md, docs/SCALING.md). Pure.
//
//   redis://[[username]:password@]host[:port][/db]
//
// - host: a name, an IPv4 address or a bracketed IPv6 address ([::1]).
// - port: 1-65535, default 6379.
// - db: the logical database, 0-15 (Redis' default `databases 16`), default 0.
// - username and password are percent-decoded; ":password@" (no user) is the
//   classic AUTH with the password only; "user:password@" is ACL AUTH.
// - rediss:// (TLS), unix sockets and query parameters are refused with a
//   message saying so.
//
// Error messages never contain the password.

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nself::core {

struct RedisUrl {
  std::string host;
  int port = 6379;
  std::optional<std::string> username;  // none: AUTH with the password only
  std::optional<std::string> password;  // none: no AUTH
  int db = 0;

  // "host:port/db" for logs and errors: never the password.
  std::string describe() const;
};

// Fails with code "invalid_config" and a one-line reason (without the password).
Result<RedisUrl> parse_redis_url(std::string_view url);

}  // namespace nself::core
