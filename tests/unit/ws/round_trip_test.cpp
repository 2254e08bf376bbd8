// Encoder and decoder against each other: length encodings at their
// boundaries, arbitrary splits of the input, and many frames per feed.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};

std::string masked(Opcode opcode, std::string_view payload, bool fin = true) {
  std::string out;
  append_masked_frame(out, opcode, payload, kMask, fin);
  return out;
}

// A payload that is valid UTF-8 and not periodic in the mask length.
std::string payload_of(std::size_t size) {
  std::string text(size, 'a');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 7) % 26);
  return text;
}

std::size_t header_size_for(std::size_t length) {
  return length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10;
}

class LengthBoundary : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LengthBoundary, ServerFrameUsesTheShortestLengthEncoding) {
  const std::size_t length = GetParam();
  const std::string frame = encode_frame(Opcode::kBinary, std::string(length, 'x'));
  ASSERT_EQ(frame.size(), header_size_for(length) + length);
  EXPECT_EQ(static_cast<std::uint8_t>(frame[0]), 0x82);
  const auto b1 = static_cast<std::uint8_t>(frame[1]);
  EXPECT_EQ(b1 & 0x80, 0) << "server frames are unmasked";
  if (length <= 125) {
    EXPECT_EQ(b1, length);
  } else if (length <= 0xFFFF) {
    EXPECT_EQ(b1, 126);
    EXPECT_EQ((static_cast<std::uint8_t>(frame[2]) << 8) | static_cast<std::uint8_t>(frame[3]),
              static_cast<int>(length));
  } else {
    EXPECT_EQ(b1, 127);
    std::uint64_t decoded = 0;
    for (int i = 0; i < 8; ++i) decoded = (decoded << 8) | static_cast<std::uint8_t>(frame[2 + i]);
    EXPECT_EQ(decoded, length);
  }
}

TEST_P(LengthBoundary, MaskedClientFrameRoundTripsThroughTheServerDecoder) {
  const std::size_t length = GetParam();
  const std::string text = payload_of(length);
  const std::string frame = masked(Opcode::kText, text);
  ASSERT_EQ(frame.size(), header_size_for(length) + 4 + length);
  FrameDecoder decoder({.max_message_bytes = 1 << 20});
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(frame, events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::Kind::kText);
  EXPECT_EQ(events[0].payload, text);
  EXPECT_FALSE(decoder.mid_message());
}

TEST_P(LengthBoundary, ServerFrameRoundTripsThroughAClientDecoder) {
  const std::size_t length = GetParam();
  const std::string data = payload_of(length);
  FrameDecoder decoder({.max_message_bytes = 1 << 20, .expect_masked = false});
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(encode_frame(Opcode::kBinary, data), events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::Kind::kBinary);
  EXPECT_EQ(events[0].payload, data);
}

TEST_P(LengthBoundary, ByteAtATimeGivesTheSameMessage) {
  const std::size_t length = GetParam();
  const std::string text = payload_of(length);
  const std::string frame = masked(Opcode::kText, text);
  FrameDecoder decoder({.max_message_bytes = 1 << 20});
  std::vector<Event> events;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    ASSERT_FALSE(decoder.feed(std::string_view(frame).substr(i, 1), events)) << "at byte " << i;
    if (i + 1 < frame.size()) {
      ASSERT_TRUE(events.empty()) << "event before the last byte, at byte " << i;
      ASSERT_TRUE(decoder.mid_message());
    }
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, text);
  EXPECT_FALSE(decoder.mid_message());
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, LengthBoundary,
                         ::testing::Values(0, 1, 125, 126, 127, 65535, 65536, 70000));

TEST(Decoder, ManyFramesInOneFeed) {
  std::string stream;
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i) {
    texts.push_back(payload_of(static_cast<std::size_t>(i * 37 % 300)));
    stream += masked(Opcode::kText, texts.back());
  }
  stream += masked(Opcode::kPing, "p");
  FrameDecoder decoder;
  std::vector<Event> events;
  ASSERT_FALSE(decoder.feed(stream, events));
  ASSERT_EQ(events.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(events[i].payload, texts[i]) << "message " << i;
  EXPECT_EQ(events[100].kind, Event::Kind::kPing);
  EXPECT_EQ(events[100].payload, "p");
}

TEST(Decoder, EverySplitOfAFragmentedStreamGivesTheSameEvents) {
  // A fragmented text message with a ping between fragments, a character split
  // across the fragments, then a binary message and a close.
  std::string stream = masked(Opcode::kText, "caf\xc3", false);
  stream += masked(Opcode::kPing, "hi");
  stream += masked(Opcode::kContinuation, "\xa9 ok", true);
  stream += masked(Opcode::kBinary, std::string("\x00\xff", 2));
  std::string close_frame;
  append_masked_frame(close_frame, Opcode::kClose, std::string("\x03\xe8") + "bye", kMask);
  stream += close_frame;

  for (std::size_t cut1 = 0; cut1 <= stream.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= stream.size(); cut2 += 3) {
      FrameDecoder decoder;
      std::vector<Event> events;
      const std::string_view view(stream);
      ASSERT_FALSE(decoder.feed(view.substr(0, cut1), events));
      ASSERT_FALSE(decoder.feed(view.substr(cut1, cut2 - cut1), events));
      ASSERT_FALSE(decoder.feed(view.substr(cut2), events));
      ASSERT_EQ(events.size(), 4u) << "cuts " << cut1 << "," << cut2;
      EXPECT_EQ(events[0].kind, Event::Kind::kPing);
      EXPECT_EQ(events[1].kind, Event::Kind::kText);
      EXPECT_EQ(events[1].payload, "caf\xc3\xa9 ok");
      EXPECT_EQ(events[2].payload, std::string("\x00\xff", 2));
      EXPECT_EQ(events[3].kind, Event::Kind::kClose);
      EXPECT_EQ(events[3].close_code, close_code::kNormal);
      EXPECT_EQ(events[3].payload, "bye");
    }
  }
}

TEST(Encoder, AppendFrameAppendsToExistingBytes) {
  std::string out = "prefix";
  append_frame(out, Opcode::kText, "hi");
  append_frame(out, Opcode::kText, "yo", false);
  EXPECT_EQ(out, std::string("prefix\x81\x02hi\x01\x02yo"));
}

TEST(Encoder, MaskedFrameMatchesTheRfcExample) {
  // RFC 6455 5.7: a single-frame masked text message containing "Hello".
  std::string out;
  append_masked_frame(out, Opcode::kText, "Hello", {0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(out, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"));
}

TEST(Encoder, ServerFramesMatchTheRfcExamples) {
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello"), std::string("\x81\x05Hello"));
  EXPECT_EQ(encode_frame(Opcode::kText, "Hel", false), std::string("\x01\x03Hel"));
  EXPECT_EQ(encode_frame(Opcode::kContinuation, "lo"), std::string("\x80\x02lo"));
  EXPECT_EQ(encode_frame(Opcode::kPing, "Hello"), std::string("\x89\x05Hello"));
}

TEST(Encoder, CloseCarriesCodeAndReason) {
  EXPECT_EQ(encode_close(close_code::kNormal, "bye"), std::string("\x88\x05\x03\xe8"
                                                                  "bye"));
  EXPECT_EQ(encode_close(close_code::kAuthFailed, ""), std::string("\x88\x02\x0f\xa1"));
  EXPECT_EQ(encode_close(close_code::kNoStatus, "ignored"), std::string("\x88\x00", 2));
}

TEST(Encoder, CloseTruncatesTheReasonAtACharacterBoundary) {
  // 122 ASCII bytes then a 2-byte character: 124 bytes, one over the 123 allowed.
  const std::string reason = std::string(122, 'r') + "\xc3\xa9" + "tail";
  const std::string frame = encode_close(close_code::kGoingAway, reason);
  ASSERT_EQ(static_cast<std::uint8_t>(frame[1]), 2 + 122);
  EXPECT_EQ(frame.substr(4), std::string(122, 'r'));

  // A 4-byte character straddling the limit is dropped whole.
  const std::string emoji = std::string(121, 'r') + "\xf0\x9f\x98\x80";
  const std::string frame2 = encode_close(close_code::kGoingAway, emoji);
  EXPECT_EQ(frame2.substr(4), std::string(121, 'r'));

  // Exactly 123 bytes fits; the result always decodes.
  const std::string fits = std::string(120, 'r') + "\xe2\x82\xac";
  EXPECT_EQ(encode_close(close_code::kGoingAway, fits).substr(4), fits);
  for (const auto& text : {reason, emoji, fits, std::string(500, 'z')}) {
    const std::string server_frame = encode_close(close_code::kGoingAway, text);
    EXPECT_LE(server_frame.size(), 127u);
    FrameDecoder client({.expect_masked = false});
    std::vector<Event> events;
    ASSERT_FALSE(client.feed(server_frame, events));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].close_code, close_code::kGoingAway);
    EXPECT_TRUE(is_valid_utf8(events[0].payload));
  }
}

}  // namespace
}  // namespace nself::core::ws
