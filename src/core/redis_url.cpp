#include "core/redis_url.hpp"

#include <fmt/format.h>

#include <charconv>

namespace nself::core {
namespace {

Error invalid(std::string_view reason) {
  return Error{"invalid_config",
               fmt::format("REDIS_URL: {}; expected redis://[:password@]host[:port][/db]", reason)};
}

std::optional<long long> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of the user-info part; none on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t index = 0; index < text.size(); ++index) {
    if (text[index] != '%') {
      out.push_back(text[index]);
      continue;
    }
    if (index + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[index + 1]);
    const int low = hex_value(text[index + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    index += 2;
  }
  return out;
}

bool has_control_or_space(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string RedisUrl::describe() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return ipv6 ? fmt::format("[{}]:{}/{}", host, port, db) : fmt::format("{}:{}/{}", host, port, db);
}

Result<RedisUrl> parse_redis_url(std::string_view url) {
  if (url.starts_with("rediss://")) return invalid("TLS (rediss://) is not supported");
  if (url.starts_with("unix://") || url.starts_with("redis+unix://")) {
    return invalid("unix sockets are not supported");
  }
  if (!url.starts_with("redis://")) return invalid("the scheme must be redis://");
  std::string_view rest = url.substr(8);

  RedisUrl result;
  // User info first: the password may hold '/' or ':' unencoded, and only
  // the last '@' can end it (a host, port or db never holds an '@'). Nothing
  // of it goes into a message.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = user_info.find(':');
    if (colon == std::string_view::npos) {
      // redis://secret@host: a lone word is the password (as redis-cli reads it).
      auto password = percent_decode(user_info);
      if (!password) return invalid("malformed percent-escape in the password");
      if (!password->empty()) result.password = std::move(*password);
    } else {
      auto username = percent_decode(user_info.substr(0, colon));
      auto password = percent_decode(user_info.substr(colon + 1));
      if (!username) return invalid("malformed percent-escape in the user name");
      if (!password) return invalid("malformed percent-escape in the password");
      if (!username->empty()) result.username = std::move(*username);
      if (!password->empty()) result.password = std::move(*password);
      if (result.username && !result.password) {
        return invalid("a user name needs a password (user:password@)");
      }
    }
  }

  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid("query parameters and fragments are not supported");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto number = parse_number(db);
      if (!number || *number < 0 || *number > 15) {
        return invalid(fmt::format("\"{}\" is not a database number (0-15)", db.substr(0, 32)));
      }
      result.db = static_cast<int>(*number);
    }
  }

  if (authority.empty()) return invalid("the host is missing");
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid("an IPv6 address lacks its ']'");
    result.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return invalid("the port is empty");
    }
  } else {
    const auto colon = authority.find(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return invalid("the port is empty");
    }
  }
  if (result.host.empty()) return invalid("the host is missing");
  if (has_control_or_space(result.host) || result.host.find_first_of("[]@") != std::string::npos) {
    return invalid("the host contains characters a host name cannot have");
  }
  if (!port.empty()) {
    const auto number = parse_number(port);
    if (!number || *number < 1 || *number > 65535) {
      return invalid(fmt::format("\"{}\" is not a port number (1-65535)", port.substr(0, 32)));
    }
    result.port = static_cast<int>(*number);
  }
  return result;
}

}  // namespace nself::core
