// The envelope nodes exchange over Redis: round trips and malformed input.

#include <gtest/gtest.h>

#include "core/cluster_envelope.hpp"

namespace nself::core {
namespace {

ClusterEnvelope sample() {
  return ClusterEnvelope{"message", "node-a", "6f1c0e2a-1111-4222-8333-444455556666", 42,
                         R"({"type":"message","content":"hi\nthere"})"};
}

TEST(ClusterEnvelope, RoundTripsEveryField) {
  const auto bytes = encode_envelope(sample());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(bytes->rfind("nself1\nmessage\nnode-a\n", 0), 0u);
  const auto back = decode_envelope(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->kind, "message");
  EXPECT_EQ(back->node_id, "node-a");
  EXPECT_EQ(back->channel_id, "6f1c0e2a-1111-4222-8333-444455556666");
  EXPECT_EQ(back->seq, 42);
  EXPECT_EQ(back->payload, sample().payload);
}

TEST(ClusterEnvelope, PayloadIsVerbatimWhateverItHolds) {
  auto envelope = sample();
  envelope.payload = std::string("a\nb\n\n\0c\xff", 8);
  const auto back = decode_envelope(*encode_envelope(envelope));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->payload, envelope.payload);
  envelope.payload.clear();
  const auto empty = decode_envelope(*encode_envelope(envelope));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->payload, "");
}

TEST(ClusterEnvelope, NodeWideEventsHaveNoChannelAndNoSeq) {
  const ClusterEnvelope envelope{"broadcast", "n1", "", 0, "{}"};
  const auto back = decode_envelope(*encode_envelope(envelope));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->channel_id, "");
  EXPECT_EQ(back->seq, 0);
}

TEST(ClusterEnvelope, EncodeRefusesHeaderFieldsThatWouldBreakTheFormat) {
  auto with = [](auto change) {
    auto envelope = sample();
    change(envelope);
    return encode_envelope(envelope);
  };
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.kind = ""; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.kind = "a\nb"; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.kind = std::string(65, 'k'); }).ok());
  EXPECT_TRUE(with([](ClusterEnvelope& e) { e.kind = std::string(64, 'k'); }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.node_id = ""; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.node_id = "node a"; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.node_id = std::string(129, 'n'); }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.channel_id = "x\n"; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.channel_id = "caf\xc3\xa9"; }).ok());
  EXPECT_FALSE(with([](ClusterEnvelope& e) { e.seq = -1; }).ok());
  const auto error = with([](ClusterEnvelope& e) { e.seq = -1; });
  EXPECT_EQ(error.error().code, "invalid_envelope");
}

TEST(ClusterEnvelope, DecodeRefusesMalformedInput) {
  const char* cases[] = {
      "",
      "nself1",
      "nself1\n",
      "nself2\nmessage\nn\nc\n1\n{}",
      "NSELF1\nmessage\nn\nc\n1\n{}",
      "nself1\nmessage\nn\nc\n1",     // no newline after the seq: header incomplete
      "nself1\n\nn\nc\n1\n{}",        // empty kind
      "nself1\nmessage\n\nc\n1\n{}",  // empty node
      "nself1\nmessage\nn\nc\n\n{}",  // empty seq
      "nself1\nmessage\nn\nc\n-5\n{}",
      "nself1\nmessage\nn\nc\n+5\n{}",
      "nself1\nmessage\nn\nc\n5x\n{}",
      "nself1\nmessage\nn\nc\n99999999999999999999\n{}",
      "nself1\nmes sage\nn\nc\n1\n{}",
      "nself1\nmessage\nn\tx\nc\n1\n{}",
      "garbage",
  };
  for (const char* text : cases) {
    const auto decoded = decode_envelope(text);
    EXPECT_FALSE(decoded.ok()) << testing::PrintToString(std::string(text));
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, "invalid_envelope");
    }
  }
  const std::string long_kind = "nself1\n" + std::string(65, 'k') + "\nn\nc\n1\n{}";
  EXPECT_FALSE(decode_envelope(long_kind).ok());
  const std::string long_node = "nself1\nk\n" + std::string(129, 'n') + "\nc\n1\n{}";
  EXPECT_FALSE(decode_envelope(long_node).ok());
  const std::string long_channel = "nself1\nk\nn\n" + std::string(129, 'c') + "\n1\n{}";
  EXPECT_FALSE(decode_envelope(long_channel).ok());
}

}  // namespace
}  // namespace nself::core
