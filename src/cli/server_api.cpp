#include "cli/server_api.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "cli/http_client.hpp"
#include "cli/pid_file.hpp"

namespace nself::cli {

bool server_running(CommandContext& context) {
  const PidFile pid_file(context.paths().pid_file(context.server_config().port));
  return pid_file.running_pid().has_value();
}

std::string encode_path_segment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

boost::json::value call_server_api(CommandContext& context, std::string_view method,
                                   const std::string& target, const boost::json::value* body,
                                   std::chrono::milliseconds timeout) {
  const auto& config = context.server_config();
  if (config.admin_secret.empty()) {
    throw CommandError(exit_code::kUsage, "invalid_config",
                       "REALTIME_ADMIN_SECRET is not set: the running server's API needs it "
                       "(`nself realtime init` generates one)");
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Realtime-Admin-Secret", config.admin_secret}};
  std::string text;
  if (body != nullptr) {
    text = boost::json::serialize(*body);
    headers.emplace_back("Content-Type", "application/json");
  }
  const auto response = http_request(connect_host(config.host), config.port, std::string(method),
                                     target, text, headers, timeout, config.ssl_cert);
  if (!response) {
    throw CommandError(exit_code::kFailed, "unavailable",
                       fmt::format("the server on port {} does not answer (see: nself realtime "
                                   "status, nself realtime logs)",
                                   config.port));
  }
  boost::json::error_code error;
  auto value = boost::json::parse(response->body, error);
  if (response->status >= 200 && response->status < 300 && !error) return value;
  std::string code = "failed";
  std::string message = fmt::format("the server answered HTTP {}", response->status);
  if (!error && value.is_object()) {
    if (const auto* failure = value.as_object().if_contains("error");
        failure && failure->is_object()) {
      if (const auto* c = failure->as_object().if_contains("code"); c && c->is_string()) {
        code = std::string(c->as_string());
      }
      if (const auto* m = failure->as_object().if_contains("message"); m && m->is_string()) {
        message = std::string(m->as_string());
      }
    }
  }
  throw CommandError(exit_code::kFailed, code, message);
}

}  // namespace nself::cli
