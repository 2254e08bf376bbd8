#include "core/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace nself::core {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool is_host_char(char c) {
  // Registered names, IPv4 and IPv6 literals ([...]); percent-encoding and
  // anything else a browser would not put into an Origin is refused.
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '[' || c == ']' || c == ':';
}

}  // namespace

std::optional<std::string> normalize_origin(std::string_view origin) {
  const std::size_t separator = origin.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  std::string scheme(origin.substr(0, separator));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view authority = origin.substr(separator + 3);
  if (authority.empty()) return std::nullopt;

  // The port is what follows the last ':' outside an IPv6 literal.
  std::string_view host = authority;
  std::string_view port;
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) return std::nullopt;
    if (!std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      return std::nullopt;
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return std::nullopt;
  }
  if (host.empty() || !std::all_of(host.begin(), host.end(), is_host_char)) return std::nullopt;
  const bool bracketed = host.front() == '[';
  if (bracketed != (host.back() == ']') || (bracketed && host.size() < 3)) return std::nullopt;
  if (!bracketed && host.find_first_of("[]:") != std::string_view::npos) return std::nullopt;

  std::string normalized = scheme + "://";
  for (char c : host) normalized.push_back(lower(c));
  if (!port.empty()) {
    normalized.push_back(':');
    normalized.append(port);
  }
  return normalized;
}

Result<OriginPolicy> OriginPolicy::parse(std::string_view list) {
  OriginPolicy policy;
  policy.allow_all_ = false;
  bool any = false;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view entry = trim(list.substr(0, comma));
    if (!entry.empty()) {
      any = true;
      if (entry == "*") {
        policy.allow_all_ = true;
      } else {
        std::string_view origin = entry;
        if (origin.ends_with('/')) origin.remove_suffix(1);
        auto normalized = normalize_origin(origin);
        if (!normalized) {
          // The entry is echoed only when printable (messages are one line).
          const bool printable = std::all_of(entry.begin(), entry.end(), [](char c) {
            return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
          });
          return Error{"invalid_config",
                       (printable ? "\"" + std::string(entry) + "\"" : std::string("an entry")) +
                           " is not an origin (scheme://host[:port], e.g. "
                           "https://app.example.com, or *)"};
        }
        if (std::find(policy.origins_.begin(), policy.origins_.end(), *normalized) ==
            policy.origins_.end()) {
          policy.origins_.push_back(std::move(*normalized));
        }
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!any) policy.allow_all_ = true;
  return policy;
}

bool OriginPolicy::allows(std::optional<std::string_view> origin) const {
  if (!origin) return true;
  if (allow_all_) return true;
  const auto normalized = normalize_origin(*origin);
  if (!normalized) return false;  // "null" and anything malformed
  return std::find(origins_.begin(), origins_.end(), *normalized) != origins_.end();
}

}  // namespace nself::core
