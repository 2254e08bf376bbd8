#pragma once

// What a shard counts for /metrics, in plain integers: a shard is one
// thread's, so its counters have one writer; the driver reads them on the
// same thread and hands them on to its loop's LoopMetrics
// (docs/ARCHITECTURE.md, "Metrics").

#include <array>
#include <cstdint>

#include "core/channel.hpp"

namespace nself::core::engine {

struct EngineCounters {
  // By channel type (ChannelType's order: public, private, presence).
  std::array<std::uint64_t, 3> messages_in{};   // accepted from clients and backends
  std::array<std::uint64_t, 3> messages_out{};  // fanned out (once per message)
  // Presence changes applied by a channel's owner: joins, leaves, updates
  // (once per change, whatever the subscriber count).
  std::uint64_t presence_updates = 0;

  static std::size_t index(ChannelType type) { return static_cast<std::size_t>(type); }
};

}  // namespace nself::core::engine
