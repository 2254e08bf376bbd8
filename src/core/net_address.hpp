#pragma once

// Client addresses for per-address limits (docs/SECURITY.md, "Connections
// and addresses"): IPv4 and IPv6 addresses, CIDR lists of trusted proxies,
// and the client behind them read from X-Forwarded-For.
//
// Pure: text in, values out (inet_pton/inet_ntop only convert text). One
// TrustedProxies may be shared by every thread after parsing.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nself::core {

// An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what
// a dual-stack socket reports for an IPv4 peer) is the IPv4 address.
struct IpAddress {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4

  // "192.0.2.1", "2001:db8::1" (also "[2001:db8::1]"). None for anything else.
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;
  // The key of per-address limits: the IPv4 address, or the IPv6 /64 prefix
  // ("2001:db8:1:2::/64"), since one IPv6 host usually holds a whole /64.
  std::string limit_key() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// A list of addresses and CIDR ranges (REALTIME_TRUSTED_PROXIES).
class TrustedProxies {
 public:
  // None: X-Forwarded-For is never used (the default).
  TrustedProxies() = default;

  // Comma- or space-separated entries, each an address ("10.0.0.1", "::1") or
  // a range ("10.0.0.0/8", "fd00::/8"). Blank: none. Error "invalid_config"
  // quoting the bad entry (its printable part).
  static Result<TrustedProxies> parse(std::string_view list);

  bool empty() const { return ranges_.empty(); }
  bool contains(const IpAddress& address) const;

  // The client of a request whose socket peer is `peer` and whose
  // X-Forwarded-For values are `forwarded_for` (several header lines joined
  // by ","; empty when none). When the peer is not trusted the header is
  // ignored and the client is the peer. Otherwise the list is read from the
  // right (each proxy appends the address it received from): trusted hops are
  // skipped, and the first untrusted address is the client. A malformed entry
  // stops the walk: the client is then the last hop read that was valid (a
  // trusted proxy), never something unparsable. Entries may carry a port
  // ("192.0.2.1:5000", "[2001:db8::1]:5000"). At most kMaxHops entries from
  // the right are read.
  IpAddress client(const IpAddress& peer, std::string_view forwarded_for) const;
  static constexpr std::size_t kMaxHops = 32;

 private:
  struct Range {
    IpAddress base;  // masked to `prefix` bits
    int prefix = 0;
  };
  std::vector<Range> ranges_;
};

}  // namespace nself::core
