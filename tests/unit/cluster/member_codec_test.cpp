// How cluster presence decodes what its scripts return.

#include <gtest/gtest.h>

#include "cluster/cluster_presence.hpp"

namespace nself::cluster {
namespace {

RedisReply text(std::string value) {
  RedisReply reply;
  reply.type = RedisReply::Type::kString;
  reply.text = std::move(value);
  return reply;
}

TEST(MemberCodec, StatusThenMetadataAfterTheFirstNewline) {
  const auto member = decode_member("u1", "away\n{\"a\":\"x\\ny\"}\n", 3);
  EXPECT_EQ(member.user_id, "u1");
  EXPECT_EQ(member.status, "away");
  EXPECT_EQ(member.meta_json, "{\"a\":\"x\\ny\"}\n");
  EXPECT_EQ(member.connections, 3);
}

TEST(MemberCodec, MissingMetadataIsNull) {
  const auto member = decode_member("u", "online", 1);
  EXPECT_EQ(member.status, "online");
  EXPECT_EQ(member.meta_json, "null");
  const auto empty = decode_member("u", "", 0);
  EXPECT_EQ(empty.status, "");
  EXPECT_EQ(empty.meta_json, "null");
}

TEST(MemberCodec, LeftPairsAndShortInput) {
  const std::vector<RedisReply> flat = {text("c1"), text("u1"), text("c2"), text("u2"), text("x")};
  std::vector<PresenceLeft> left;
  ASSERT_TRUE(decode_left(flat, 0, 2, left));
  EXPECT_EQ(left, (std::vector<PresenceLeft>{{"c1", "u1"}, {"c2", "u2"}}));
  std::vector<PresenceLeft> too_many;
  EXPECT_FALSE(decode_left(flat, 2, 2, too_many)) << "only three values after index 2";
  EXPECT_TRUE(too_many.empty());
  std::vector<PresenceLeft> none;
  EXPECT_TRUE(decode_left({}, 0, 0, none));
}

}  // namespace
}  // namespace nself::cluster
