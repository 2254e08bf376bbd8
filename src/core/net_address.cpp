#include "core/net_address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace nself::core {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Zeroes every bit past `prefix` (of 32 or 128).
IpAddress masked(IpAddress address, int prefix) {
  const int bits = address.v4 ? 32 : 128;
  for (int bit = prefix; bit < bits; ++bit) {
    address.bytes[static_cast<std::size_t>(bit / 8)] &=
        static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return address;
}

// An X-Forwarded-For entry: an address, maybe with a port.
std::optional<IpAddress> parse_hop(std::string_view entry) {
  if (auto address = IpAddress::parse(entry)) return address;
  if (entry.starts_with('[')) {  // [v6]:port
    const auto close = entry.find(']');
    if (close == std::string_view::npos || close + 1 >= entry.size() || entry[close + 1] != ':') {
      return std::nullopt;
    }
    return IpAddress::parse(entry.substr(1, close - 1));
  }
  const auto colon = entry.find(':');
  if (colon == std::string_view::npos || entry.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;  // no port, or an IPv6 address that did not parse
  }
  auto address = IpAddress::parse(entry.substr(0, colon));
  if (!address || !address->v4) return std::nullopt;
  return address;
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  return out;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);  // inet_pton needs a terminated string
  IpAddress address;
  if (copy.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
    return address;
  }
  if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin())) {
    std::array<std::uint8_t, 16> v4{};
    std::copy_n(address.bytes.begin() + 12, 4, v4.begin());
    address.bytes = v4;
    return address;
  }
  address.v4 = false;
  return address;
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::string IpAddress::limit_key() const {
  if (v4) return to_string();
  return masked(*this, 64).to_string() + "/64";
}

Result<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  TrustedProxies proxies;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto end = list.find_first_of(", ", start);
    const std::string_view entry = trim(
        list.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? list.size() + 1 : end + 1;
    if (entry.empty()) continue;
    const auto bad = [&] {
      return Error{"invalid_config",
                   fmt::format("\"{}\" is not an address or a CIDR range (e.g. 10.0.0.0/8, ::1)",
                               printable(entry))};
    };
    const auto slash = entry.find('/');
    auto address = IpAddress::parse(entry.substr(0, slash));
    if (!address) return bad();
    int prefix = address->v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
      const std::string_view digits = entry.substr(slash + 1);
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty() ||
          prefix < 0 || prefix > (address->v4 ? 32 : 128)) {
        return bad();
      }
    }
    proxies.ranges_.push_back(Range{masked(*address, prefix), prefix});
  }
  return proxies;
}

bool TrustedProxies::contains(const IpAddress& address) const {
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& range) {
    return range.base.v4 == address.v4 && masked(address, range.prefix) == range.base;
  });
}

IpAddress TrustedProxies::client(const IpAddress& peer, std::string_view forwarded_for) const {
  if (!contains(peer)) return peer;
  IpAddress client = peer;
  std::string_view rest = forwarded_for;
  for (std::size_t hops = 0; hops < kMaxHops && !trim(rest).empty(); ++hops) {
    const auto comma = rest.rfind(',');
    const std::string_view entry =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    auto hop = parse_hop(entry);
    if (!hop) break;
    client = *hop;
    if (!contains(client)) break;
  }
  return client;
}

}  // namespace nself::core
