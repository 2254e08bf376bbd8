#pragma once

// Failed admin authentication per client address (docs/SECURITY.md, "Admin
// API", A5-A7), around core::AuthFailureLimits: an address whose failures
// are used up gets 429 without its credentials being checked, and the audit
// log gets the first failure of an address at once and then one summary row
// per address per minute, with what a row stores capped.
//
// Thread safety: none; lives on the control loop with the admin API. Made
// with std::make_shared (its timer holds a weak reference).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/auth_failure_limits.hpp"
#include "server/http_router.hpp"

namespace nself::server {

// The longest request target an audit row stores (bytes; longer ones are
// cut on a UTF-8 boundary and end with "...").
inline constexpr std::size_t kMaxAuditTargetBytes = 256;
std::string audit_target(std::string_view target);

class AdminAuthGuard : public std::enable_shared_from_this<AdminAuthGuard> {
 public:
  // Writes one auth.failed row (actor "api") with this target and details.
  using Audit = std::function<void(std::optional<std::string> target, boost::json::object details)>;

  // `per_minute`: failures allowed per address per minute (0: no limit).
  AdminAuthGuard(boost::asio::any_io_executor executor, int per_minute, Audit audit);

  // Before the credentials are checked: a 429 when `address` is blocked
  // (the attempt is counted for the summary).
  std::optional<HttpResponse> check(const std::string& address);
  // Credentials were refused (401/403 with `code`).
  void failed(const std::string& address, const HttpRequest& request, std::string_view code);

  // The once-a-second sweep that writes the summaries; stop() writes what
  // is pending and stops it.
  void start();
  void stop();

 private:
  void schedule();
  void sweep(core::AuthFailureLimits::Time now);

  boost::asio::steady_timer timer_;
  core::AuthFailureLimits limits_;
  Audit audit_;
  bool stopped_ = false;
};

}  // namespace nself::server
