// Who may call the admin API: admin credentials (the shared secret or an
// admin JWT) checked per request, refusals counted and audited, and the audit
// log writer every handler uses.

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "server/api/admin_state.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

namespace {

// Equal length and content, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

std::variant<std::string, HttpResponse> AdminApi::State::authenticate(const HttpRequest& request,
                                                                      const std::string& address) {
  const auto secret = request["X-Realtime-Admin-Secret"];
  const auto authorization = request[http::field::authorization];
  constexpr std::string_view kBearer = "bearer ";
  if (!secret.empty()) {
    if (!options.admin_secret.empty() && constant_time_equal(secret, options.admin_secret)) {
      return std::string("admin");
    }
    return refuse(request, address, http::status::forbidden, "forbidden", "wrong admin secret");
  }
  if (authorization.size() > kBearer.size() &&
      boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    auto claims = verifier.verify(authorization.substr(kBearer.size()), now_ms());
    if (!claims) {
      return refuse(request, address, http::status::unauthorized, claims.error().code,
                    claims.error().message);
    }
    if (!claims->is_admin) {
      return refuse(request, address, http::status::forbidden, "forbidden",
                    "the token's role is not admin");
    }
    return claims->user_id;
  }
  return refuse(request, address, http::status::unauthorized, "unauthorized",
                "admin credentials required: X-Realtime-Admin-Secret or an admin Bearer token");
}

HttpResponse AdminApi::State::refuse(const HttpRequest& request, const std::string& address,
                                     http::status status, std::string_view code,
                                     std::string_view message) {
  metrics.auth_failure();
  metrics.error(code);
  auth_guard->failed(address, request, code);  // audited at once or summarized
  HttpResponse response = error_reply(status, code, message);
  if (status == http::status::unauthorized) response.set(http::field::www_authenticate, "Bearer");
  return response;
}

void AdminApi::State::audit(std::string actor, std::string action,
                            std::optional<std::string> target, json::object details) {
  store::AuditEntry entry;
  entry.at = now_ms();
  entry.actor = std::move(actor);
  entry.action = std::move(action);
  entry.target = std::move(target);
  entry.details = json::serialize(details);
  store.submit([entry = std::move(entry)](store::Store* store) {
    if (store == nullptr) return;
    try {
      store->append_audit(entry);
    } catch (const store::StoreError& error) {
      spdlog::warn("audit log: {}", error.what());
    }
  });
}

}  // namespace nself::server
