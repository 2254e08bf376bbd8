#include "server/admin_auth_guard.hpp"

#include <chrono>

namespace nself::server {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string_view key_of(const std::string& address) {
  return address.empty() ? std::string_view("unknown") : std::string_view(address);
}

}  // namespace

std::string audit_target(std::string_view target) {
  if (target.size() <= kMaxAuditTargetBytes) return std::string(target);
  std::size_t cut = kMaxAuditTargetBytes - 3;
  // Back to the start of a UTF-8 sequence (never split a character).
  while (cut > 0 && (static_cast<unsigned char>(target[cut]) & 0xC0) == 0x80) --cut;
  return std::string(target.substr(0, cut)) + "...";
}

AdminAuthGuard::AdminAuthGuard(boost::asio::any_io_executor executor, int per_minute, Audit audit)
    : timer_(std::move(executor)),
      limits_(core::AuthFailureOptions{.per_minute = per_minute}),
      audit_(std::move(audit)) {}

std::optional<HttpResponse> AdminAuthGuard::check(const std::string& address) {
  const std::string key(key_of(address));
  const auto now = Clock::now();
  const auto wait = limits_.blocked(key, now);
  if (!wait) return std::nullopt;
  limits_.failure(key, now, true);  // counted, never written one by one
  HttpResponse response =
      error_response(http::status::too_many_requests, "too_many_failures",
                     "too many failed admin authentications from your address; retry later "
                     "(REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE)");
  response.set(http::field::retry_after, std::to_string(*wait));
  return response;
}

void AdminAuthGuard::failed(const std::string& address, const HttpRequest& request,
                            std::string_view code) {
  const auto recorded = limits_.failure(std::string(key_of(address)), Clock::now(), false);
  if (!recorded.audit_now) return;
  std::string_view method = request.method_string();
  audit_(audit_target(request.target()),
         json::object{{"code", code}, {"method", method.substr(0, 16)}, {"address", recorded.key}});
}

void AdminAuthGuard::start() {
  schedule();
}

void AdminAuthGuard::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  // Whatever was counted is written now (a minute is over for everyone).
  sweep(Clock::now() + std::chrono::hours(1));
}

void AdminAuthGuard::schedule() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    auto self = weak.lock();
    if (error || !self || self->stopped_) return;
    self->sweep(Clock::now());
    self->schedule();
  });
}

void AdminAuthGuard::sweep(core::AuthFailureLimits::Time now) {
  for (const auto& summary : limits_.sweep(now)) {
    // `count` failures of `address` in the minute that began at summary.since.
    audit_(std::nullopt, json::object{{"code", "summary"},
                                      {"address", summary.key},
                                      {"count", summary.count},
                                      {"window_seconds", 60}});
  }
}

}  // namespace nself::server
