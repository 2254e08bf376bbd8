#include "core/net_address.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

IpAddress ip(std::string_view text) {
  auto address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

TrustedProxies trusted(std::string_view list) {
  auto proxies = TrustedProxies::parse(list);
  EXPECT_TRUE(proxies.ok()) << (proxies.ok() ? "" : proxies.error().message);
  return proxies.ok() ? *proxies : TrustedProxies{};
}

TEST(IpAddress, ParsesBothFamiliesAndFoldsMappedIpv4) {
  EXPECT_EQ(ip("192.0.2.1").to_string(), "192.0.2.1");
  EXPECT_TRUE(ip("192.0.2.1").v4);
  EXPECT_EQ(ip("2001:DB8::1").to_string(), "2001:db8::1");
  EXPECT_FALSE(ip("2001:db8::1").v4);
  EXPECT_EQ(ip("[::1]").to_string(), "::1");
  EXPECT_EQ(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "example.com", "1.2.3.4:80", "::1::2",
                          " 1.2.3.4", "[::1", "1.2.3.4/8"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

TEST(IpAddress, LimitKeyIsTheIpv4AddressOrTheIpv6Slash64) {
  EXPECT_EQ(ip("203.0.113.9").limit_key(), "203.0.113.9");
  EXPECT_EQ(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd").limit_key(), "2001:db8:1:2::/64");
  EXPECT_EQ(ip("2001:db8:1:2::1").limit_key(), ip("2001:db8:1:2:ffff::9").limit_key());
  EXPECT_NE(ip("2001:db8:1:2::1").limit_key(), ip("2001:db8:1:3::1").limit_key());
}

TEST(TrustedProxies, MatchesAddressesAndRanges) {
  const auto proxies = trusted("10.0.0.0/8, 192.168.1.7 fd00::/8,::1");
  EXPECT_TRUE(proxies.contains(ip("10.255.0.1")));
  EXPECT_FALSE(proxies.contains(ip("11.0.0.1")));
  EXPECT_TRUE(proxies.contains(ip("192.168.1.7")));
  EXPECT_FALSE(proxies.contains(ip("192.168.1.8")));
  EXPECT_TRUE(proxies.contains(ip("fd12::5")));
  EXPECT_FALSE(proxies.contains(ip("fe80::1")));
  EXPECT_TRUE(proxies.contains(ip("::1")));
  EXPECT_TRUE(proxies.contains(ip("::ffff:10.0.0.3")));  // a dual-stack socket's IPv4 peer
  EXPECT_TRUE(trusted("0.0.0.0/0").contains(ip("8.8.8.8")));
  EXPECT_FALSE(trusted("0.0.0.0/0").contains(ip("2001:db8::1")));
}

TEST(TrustedProxies, EmptyListTrustsNobodyAndBadEntriesAreErrors) {
  EXPECT_TRUE(trusted("").empty());
  EXPECT_TRUE(trusted(" , ").empty());
  EXPECT_FALSE(trusted("").contains(ip("127.0.0.1")));
  for (const char* bad : {"10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "localhost",
                          "10.0.0.0/8/8", "1.2.3.4\n"}) {
    auto proxies = TrustedProxies::parse(bad);
    ASSERT_FALSE(proxies.ok()) << bad;
    EXPECT_EQ(proxies.error().code, "invalid_config");
    EXPECT_EQ(proxies.error().message.find('\n'), std::string::npos);
  }
}

TEST(TrustedProxies, ForwardedForIsIgnoredFromAnUntrustedPeer) {
  const auto proxies = trusted("10.0.0.1");
  EXPECT_EQ(proxies.client(ip("198.51.100.4"), "203.0.113.9"), ip("198.51.100.4"));
  EXPECT_EQ(TrustedProxies{}.client(ip("127.0.0.1"), "203.0.113.9"), ip("127.0.0.1"));
}

TEST(TrustedProxies, ClientIsTheFirstUntrustedHopFromTheRight) {
  const auto proxies = trusted("10.0.0.0/8");
  // client -> 10.0.0.2 -> 10.0.0.1 (peer): each proxy appends what it received from.
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "203.0.113.9, 10.0.0.2"), ip("203.0.113.9"));
  // A client cannot forge its way in: what it wrote left of the first untrusted hop is ignored.
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "1.1.1.1, 203.0.113.9"), ip("203.0.113.9"));
  // Several header lines, joined; ports; IPv6 in brackets.
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "1.1.1.1,203.0.113.9:5000"), ip("203.0.113.9"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "[2001:db8::7]:443"), ip("2001:db8::7"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "2001:db8::7"), ip("2001:db8::7"));
  // No header, or only trusted hops: the last hop read.
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), ""), ip("10.0.0.1"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "10.0.0.3, 10.0.0.2"), ip("10.0.0.3"));
}

TEST(TrustedProxies, MalformedEntriesStopAtTheLastValidHop) {
  const auto proxies = trusted("10.0.0.0/8");
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "203.0.113.9, garbage"), ip("10.0.0.1"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "garbage, 10.0.0.2"), ip("10.0.0.2"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "unknown"), ip("10.0.0.1"));
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), "1.2.3.4, , 10.0.0.2"), ip("10.0.0.2"));
  // Only kMaxHops entries from the right are read.
  std::string many = "203.0.113.9";
  for (std::size_t i = 0; i < TrustedProxies::kMaxHops; ++i) many += ", 10.0.0.9";
  EXPECT_EQ(proxies.client(ip("10.0.0.1"), many), ip("10.0.0.9"));
}

}  // namespace
}  // namespace nself::core
