#pragma once

// Which browser origins may open a WebSocket (REALTIME_ALLOWED_ORIGINS).
// Browsers send an Origin header on every WebSocket upgrade and let any page
// connect anywhere, so a server whose clients authenticate with tokens a page
// can obtain must refuse pages it does not know (cross-site WebSocket
// hijacking). Non-browser clients (backends, the CLI, mobile apps) send no
// Origin and are not concerned.
//
// Pure and immutable after parsing: one instance may be shared by all threads.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nself::core {

class OriginPolicy {
 public:
  // Allows every origin (the default: REALTIME_ALLOWED_ORIGINS empty).
  OriginPolicy() = default;

  // Parses a comma-separated list of origins, e.g.
  //   "https://app.example.com, http://localhost:3000"
  // Each entry is scheme://host[:port] (scheme http or https, no path, query
  // or userinfo; one trailing "/" is tolerated) or "*" (allow every origin).
  // Blank entries are skipped; an empty or blank list allows every origin.
  // Matching is exact after lower-casing scheme and host: a port must be
  // written exactly as browsers send it (no port for 80/443 on http/https).
  // Error code "invalid_config" quoting the bad entry (when printable).
  static Result<OriginPolicy> parse(std::string_view list);

  // True when every origin is allowed (empty list or "*").
  bool allows_all() const { return allow_all_; }

  // Decides an upgrade by its Origin header: none (a non-browser client) is
  // always allowed; otherwise the origin must be listed. The opaque origin
  // "null" (sandboxed frames, file:// pages) is allowed only by allows_all().
  bool allows(std::optional<std::string_view> origin) const;

  // The normalized origins, in the order given (for docs and status).
  const std::vector<std::string>& origins() const { return origins_; }

 private:
  bool allow_all_ = true;
  std::vector<std::string> origins_;
};

// scheme://host[:port] lower-cased in scheme and host, or none when `origin`
// is not of that form (any path, query, fragment, userinfo, blank or control
// character, or a port that is not 1-65535 digits).
std::optional<std::string> normalize_origin(std::string_view origin);

}  // namespace nself::core
