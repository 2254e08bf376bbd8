// Decoder behaviour that the data-driven conformance suite cannot express:
// buffering and memory accounting, state after a failure or a close, and
// checks made before the rest of a frame arrives.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

constexpr std::array<std::uint8_t, 4> kMask{0x01, 0x02, 0x03, 0x04};

std::string masked(Opcode opcode, std::string_view payload, bool fin = true) {
  std::string out;
  append_masked_frame(out, opcode, payload, kMask, fin);
  return out;
}

TEST(Decoder, OversizedFrameFailsFromItsLengthBytesWithoutBuffering) {
  FrameDecoder decoder({.max_message_bytes = 1000});
  std::vector<Event> events;
  // A masked frame with the 16-bit length 1001: the violation comes with the
  // fourth byte, before the mask key and any payload.
  const std::string header("\x82\xfe\x03\xe9\x00\x00\x00\x00", 8);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_FALSE(decoder.feed(header.substr(i, 1), events)) << "failed early at byte " << i;
  }
  const auto violation = decoder.feed(header.substr(3, 1), events);
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->close_code, close_code::kMessageTooBig);
  EXPECT_LE(decoder.buffered_bytes(), 4u);
}

TEST(Decoder, OversizedFrameInOneFeedFailsWithoutBuffering) {
  FrameDecoder decoder({.max_message_bytes = 1000});
  std::vector<Event> events;
  std::string frame;
  append_masked_frame(frame, Opcode::kBinary, std::string(5000, 'x'), kMask);
  const auto violation = decoder.feed(frame, events);
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->close_code, close_code::kMessageTooBig);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(Decoder, FragmentedMessageOverTheLimitFailsAtTheFrameThatCrossesIt) {
  FrameDecoder decoder({.max_message_bytes = 10});
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(masked(Opcode::kText, "123456", false), events));
  ASSERT_FALSE(decoder.feed(masked(Opcode::kContinuation, "7890", false), events));
  EXPECT_EQ(decoder.buffered_bytes(), 10u);
  // The next header alone (one more byte announced) fails.
  const auto violation = decoder.feed(std::string("\x80\x81", 2), events);
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->close_code, close_code::kMessageTooBig);
  EXPECT_TRUE(events.empty());
}

TEST(Decoder, MessageExactlyAtTheLimitIsAccepted) {
  FrameDecoder decoder({.max_message_bytes = 10});
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(masked(Opcode::kText, "12345", false), events));
  ASSERT_FALSE(decoder.feed(masked(Opcode::kContinuation, "67890", true), events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "1234567890");
}

TEST(Decoder, InvalidUtf8FailsInsideAFrameBeforeItsEnd) {
  FrameDecoder decoder;
  std::vector<Event> events;
  const std::string frame = masked(Opcode::kText, std::string("ok\xff") + std::string(100, 'a'));
  // Header (6 bytes) plus "ok\xff": the invalid byte is enough.
  const auto violation = decoder.feed(std::string_view(frame).substr(0, 9), events);
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->close_code, close_code::kInvalidPayload);
}

TEST(Decoder, StaysFailedAndRepeatsTheViolation) {
  FrameDecoder decoder;
  std::vector<Event> events;
  const auto first = decoder.feed(std::string("\x81\x05Hello"), events);  // unmasked
  ASSERT_TRUE(first);
  EXPECT_EQ(first->close_code, close_code::kProtocolError);
  const auto again = decoder.feed(masked(Opcode::kText, "fine"), events);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->close_code, close_code::kProtocolError);
  EXPECT_TRUE(events.empty());
}

TEST(Decoder, EventsBeforeAViolationAreStillDelivered) {
  FrameDecoder decoder;
  std::vector<Event> events;
  const std::string stream =
      masked(Opcode::kText, "one") + masked(Opcode::kPing, "") + std::string("\x83\x80", 2);
  const auto violation = decoder.feed(stream, events);
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->close_code, close_code::kProtocolError);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].payload, "one");
  EXPECT_EQ(events[1].kind, Event::Kind::kPing);
}

TEST(Decoder, IgnoresEverythingAfterAClose) {
  FrameDecoder decoder;
  std::vector<Event> events;
  const std::string stream = masked(Opcode::kClose, "") + masked(Opcode::kText, "late") + "junk";
  ASSERT_FALSE(decoder.feed(stream, events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::Kind::kClose);
  EXPECT_EQ(events[0].close_code, close_code::kNoStatus);
  EXPECT_TRUE(decoder.closed());
  ASSERT_FALSE(decoder.feed(masked(Opcode::kText, "later"), events));
  EXPECT_EQ(events.size(), 1u);
}

TEST(Decoder, MidMessageAndBufferedBytesTrackPartialInput) {
  FrameDecoder decoder;
  std::vector<Event> events;
  EXPECT_FALSE(decoder.mid_message());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  const std::string frame = masked(Opcode::kText, "abcdef", false);
  ASSERT_FALSE(decoder.feed(frame.substr(0, 3), events));  // part of the header
  EXPECT_TRUE(decoder.mid_message());
  EXPECT_EQ(decoder.buffered_bytes(), 3u);
  ASSERT_FALSE(decoder.feed(frame.substr(3, 5), events));  // header and 2 payload bytes
  EXPECT_EQ(decoder.buffered_bytes(), 2u);
  ASSERT_FALSE(decoder.feed(frame.substr(8), events));
  EXPECT_TRUE(decoder.mid_message()) << "the message has more fragments";
  EXPECT_EQ(decoder.buffered_bytes(), 6u);
  decoder.shrink_to_fit();  // must keep the partial message
  ASSERT_FALSE(decoder.feed(masked(Opcode::kContinuation, "g"), events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "abcdefg");
  EXPECT_FALSE(decoder.mid_message());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  decoder.shrink_to_fit();
  ASSERT_FALSE(decoder.feed(masked(Opcode::kText, "again"), events));
  EXPECT_EQ(events.back().payload, "again");
}

TEST(Decoder, ControlFrameBetweenFragmentsDoesNotDisturbTheMessage) {
  FrameDecoder decoder;
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(masked(Opcode::kBinary, "ab", false), events));
  ASSERT_FALSE(decoder.feed(masked(Opcode::kPong, "x"), events));
  ASSERT_FALSE(decoder.feed(masked(Opcode::kPing, "y"), events));
  ASSERT_FALSE(decoder.feed(masked(Opcode::kContinuation, "cd"), events));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, Event::Kind::kPong);
  EXPECT_EQ(events[1].kind, Event::Kind::kPing);
  EXPECT_EQ(events[2].kind, Event::Kind::kBinary);
  EXPECT_EQ(events[2].payload, "abcd");
}

TEST(Decoder, UnmasksAcrossArbitraryChunkOffsets) {
  // A payload long enough for the word-at-a-time path, fed in chunks whose
  // sizes are not multiples of the mask length.
  std::string payload(1000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 31 + 7);
  const std::string frame = masked(Opcode::kBinary, payload);
  for (std::size_t chunk : {1u, 3u, 5u, 7u, 9u, 13u, 33u, 257u}) {
    FrameDecoder decoder;
    std::vector<Event> events;
    for (std::size_t at = 0; at < frame.size(); at += chunk) {
      ASSERT_FALSE(decoder.feed(std::string_view(frame).substr(at, chunk), events));
    }
    ASSERT_EQ(events.size(), 1u) << "chunk " << chunk;
    EXPECT_EQ(events[0].payload, payload) << "chunk " << chunk;
  }
}

TEST(CloseCodes, SendableCodes) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                             3000, 3999, 4000, 4001, 4008, 4999}) {
    EXPECT_TRUE(is_sendable_close_code(code)) << code;
  }
  for (std::uint16_t code :
       {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    EXPECT_FALSE(is_sendable_close_code(code)) << code;
  }
}

}  // namespace
}  // namespace nself::core::ws
