// The WebSocket frame codec: decoding masked client text frames (unmask,
// UTF-8 check, event out) and encoding server frames.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/ws/frame_codec.hpp"

namespace {

using nself::core::ws::append_frame;
using nself::core::ws::append_masked_frame;
using nself::core::ws::DecoderLimits;
using nself::core::ws::Event;
using nself::core::ws::FrameDecoder;
using nself::core::ws::Opcode;

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};

// JSON-like ASCII text of `size` bytes, the common case for this server.
std::string ascii_text(std::size_t size) {
  const std::string pattern = R"({"type":"message","channel":"general","content":"hello"})";
  std::string text;
  while (text.size() < size) text += pattern;
  text.resize(size);
  return text;
}

// Mostly non-ASCII text (2- and 3-byte characters), to exercise the slow UTF-8 path.
std::string multibyte_text(std::size_t size) {
  std::string text;
  while (text.size() + 5 <= size) text += "\xc3\xa9\xe2\x82\xac";
  text.append(size - text.size(), 'a');
  return text;
}

// One masked text frame per feed() call.
void decode_frames(benchmark::State& state, const std::string& text) {
  std::string frame;
  append_masked_frame(frame, Opcode::kText, text, kMask);
  FrameDecoder decoder(DecoderLimits{.max_message_bytes = 1 << 20});
  std::vector<Event> events;
  events.reserve(1);
  for (auto _ : state) {
    auto violation = decoder.feed(frame, events);
    benchmark::DoNotOptimize(violation);
    benchmark::DoNotOptimize(events.data());
    events.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_DecodeMaskedText(benchmark::State& state) {
  decode_frames(state, ascii_text(static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_DecodeMaskedText)->Arg(32)->Arg(1024)->Arg(64 * 1024);

void BM_DecodeMaskedMultibyteText(benchmark::State& state) {
  decode_frames(state, multibyte_text(static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_DecodeMaskedMultibyteText)->Arg(1024)->Arg(64 * 1024);

// Many small frames arriving in one read: 64 frames of 32 bytes per feed().
void BM_DecodeManySmallFramesPerFeed(benchmark::State& state) {
  const std::string text = ascii_text(32);
  std::string stream;
  for (int i = 0; i < 64; ++i) append_masked_frame(stream, Opcode::kText, text, kMask);
  FrameDecoder decoder;
  std::vector<Event> events;
  events.reserve(64);
  for (auto _ : state) {
    auto violation = decoder.feed(stream, events);
    benchmark::DoNotOptimize(violation);
    events.clear();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 64));
}
BENCHMARK(BM_DecodeManySmallFramesPerFeed);

// Server frames appended to a reused connection buffer (no allocation once warm).
void BM_EncodeText(benchmark::State& state) {
  const std::string text = ascii_text(static_cast<std::size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_frame(out, Opcode::kText, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeText)->Arg(32)->Arg(1024)->Arg(64 * 1024);

// Masked client frames (load generator and tests).
void BM_EncodeMaskedText(benchmark::State& state) {
  const std::string text = ascii_text(static_cast<std::size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_masked_frame(out, Opcode::kText, text, kMask);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeMaskedText)->Arg(32)->Arg(1024)->Arg(64 * 1024);

}  // namespace

BENCHMARK_MAIN();
