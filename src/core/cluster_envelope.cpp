#include "core/cluster_envelope.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace nself::core {
namespace {

constexpr std::string_view kMagic = "nself1";

Error invalid(std::string message) {
  return Error{"invalid_envelope", std::move(message)};
}

bool is_token(std::string_view text) {
  for (const char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Takes the text up to the next '\n' off `rest`; none when there is no '\n'.
std::optional<std::string_view> take_line(std::string_view& rest) {
  const auto newline = rest.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  const auto line = rest.substr(0, newline);
  rest.remove_prefix(newline + 1);
  return line;
}

}  // namespace

Result<std::string> encode_envelope(const ClusterEnvelope& envelope) {
  if (envelope.kind.empty() || envelope.kind.size() > kMaxEnvelopeKindBytes ||
      !is_token(envelope.kind)) {
    return invalid("the kind must be 1-64 printable characters without spaces");
  }
  if (envelope.node_id.empty() || envelope.node_id.size() > kMaxEnvelopeIdBytes ||
      !is_token(envelope.node_id)) {
    return invalid("the node id must be 1-128 printable characters without spaces");
  }
  if (envelope.channel_id.size() > kMaxEnvelopeIdBytes || !is_token(envelope.channel_id)) {
    return invalid("the channel id must be at most 128 printable characters without spaces");
  }
  if (envelope.seq < 0) return invalid("the seq must not be negative");
  std::string out;
  out.reserve(kMagic.size() + envelope.kind.size() + envelope.node_id.size() +
              envelope.channel_id.size() + envelope.payload.size() + 32);
  out.append(kMagic).push_back('\n');
  out.append(envelope.kind).push_back('\n');
  out.append(envelope.node_id).push_back('\n');
  out.append(envelope.channel_id).push_back('\n');
  out.append(std::to_string(envelope.seq)).push_back('\n');
  out.append(envelope.payload);
  return out;
}

Result<ClusterEnvelope> decode_envelope(std::string_view bytes) {
  std::string_view rest = bytes;
  const auto magic = take_line(rest);
  if (!magic || *magic != kMagic) return invalid("not an nself1 envelope");
  const auto kind = take_line(rest);
  const auto node = take_line(rest);
  const auto channel = take_line(rest);
  const auto seq_text = take_line(rest);
  if (!kind || !node || !channel || !seq_text) return invalid("the header is incomplete");
  if (kind->empty() || kind->size() > kMaxEnvelopeKindBytes || !is_token(*kind)) {
    return invalid("bad kind");
  }
  if (node->empty() || node->size() > kMaxEnvelopeIdBytes || !is_token(*node)) {
    return invalid("bad node id");
  }
  if (channel->size() > kMaxEnvelopeIdBytes || !is_token(*channel)) {
    return invalid("bad channel id");
  }
  std::int64_t seq = 0;
  const auto* end = seq_text->data() + seq_text->size();
  const auto [ptr, ec] = std::from_chars(seq_text->data(), end, seq);
  if (seq_text->empty() || ec != std::errc() || ptr != end || seq < 0) {
    return invalid(fmt::format("bad seq \"{}\"", seq_text->substr(0, 32)));
  }
  return ClusterEnvelope{std::string(*kind), std::string(*node), std::string(*channel), seq,
                         std::string(rest)};
}

}  // namespace nself::core
