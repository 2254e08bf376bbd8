// Seeded random inputs: random streams of valid frames give the same events
// however they are split, and random bytes never crash the decoder or make it
// buffer more than its limit allows.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

struct Outcome {
  std::vector<Event> events;
  std::optional<Violation> violation;
};

Outcome decode_in_chunks(const std::string& stream, std::mt19937& rng, std::size_t limit) {
  FrameDecoder decoder({.max_message_bytes = limit});
  Outcome outcome;
  std::size_t at = 0;
  while (at < stream.size() && !outcome.violation) {
    const std::size_t chunk = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
    outcome.violation = decoder.feed(std::string_view(stream).substr(at, chunk), outcome.events);
    at += chunk;
    EXPECT_LE(decoder.buffered_bytes(), limit + 125 + 14);
  }
  return outcome;
}

TEST(RandomInput, ValidStreamsGiveTheSameEventsForAnySplit) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    std::string stream;
    std::vector<std::string> messages;
    const int count = std::uniform_int_distribution<int>(1, 8)(rng);
    for (int m = 0; m < count; ++m) {
      std::string text(std::uniform_int_distribution<std::size_t>(0, 300)(rng), 'a');
      for (auto& c : text) c = static_cast<char>(std::uniform_int_distribution<int>(32, 126)(rng));
      messages.push_back(text);
      const std::array<std::uint8_t, 4> mask{
          static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()),
          static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng())};
      // Split each message into up to three fragments, with a ping after the first.
      const std::size_t cut1 = std::uniform_int_distribution<std::size_t>(0, text.size())(rng);
      const std::size_t cut2 = std::uniform_int_distribution<std::size_t>(cut1, text.size())(rng);
      append_masked_frame(stream, Opcode::kText, std::string_view(text).substr(0, cut1), mask,
                          false);
      append_masked_frame(stream, Opcode::kPing, "", mask);
      append_masked_frame(stream, Opcode::kContinuation,
                          std::string_view(text).substr(cut1, cut2 - cut1), mask, false);
      append_masked_frame(stream, Opcode::kContinuation, std::string_view(text).substr(cut2), mask,
                          true);
    }
    const Outcome outcome = decode_in_chunks(stream, rng, 65536);
    ASSERT_FALSE(outcome.violation) << "round " << round << ": " << outcome.violation->reason;
    ASSERT_EQ(outcome.events.size(), messages.size() * 2) << "round " << round;
    for (std::size_t m = 0; m < messages.size(); ++m) {
      EXPECT_EQ(outcome.events[2 * m].kind, Event::Kind::kPing);
      EXPECT_EQ(outcome.events[2 * m + 1].payload, messages[m]) << "round " << round;
    }
  }
}

TEST(RandomInput, RandomBytesFailCleanlyAndConsistently) {
  std::mt19937 rng(7);
  int failed = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string garbage(std::uniform_int_distribution<std::size_t>(1, 200)(rng), '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    // Half the rounds start with a plausible masked text header so that the
    // payload checks are reached too.
    if (round % 2 == 0 && garbage.size() > 6) {
      garbage[0] = static_cast<char>(0x81);
      garbage[1] = static_cast<char>(0x80 | (garbage.size() - 6 > 125 ? 125 : garbage.size() - 6));
    }
    const Outcome chunked = decode_in_chunks(garbage, rng, 100);
    FrameDecoder whole({.max_message_bytes = 100});
    std::vector<Event> events;
    const auto violation = whole.feed(garbage, events);
    ASSERT_EQ(violation.has_value(), chunked.violation.has_value()) << "round " << round;
    if (violation) {
      ++failed;
      EXPECT_EQ(violation->close_code, chunked.violation->close_code) << "round " << round;
      EXPECT_TRUE(violation->close_code == close_code::kProtocolError ||
                  violation->close_code == close_code::kInvalidPayload ||
                  violation->close_code == close_code::kMessageTooBig)
          << violation->close_code;
    }
    EXPECT_EQ(events.size(), chunked.events.size()) << "round " << round;
  }
  EXPECT_GT(failed, 1000);  // random bytes are mostly invalid
}

}  // namespace
}  // namespace nself::core::ws
