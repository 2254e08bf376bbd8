#pragma once

// The native wire adapter's encoder: an engine event (core/engine/events.hpp)
// as the JSON text of docs/PROTOCOL.md. It only maps the typed event onto the
// serializers of core/protocol/events.hpp, so that the engine and today's
// RealtimeHandler write byte-identical frames. Pure, thread-safe.

#include <string>

#include "core/engine/events.hpp"

namespace nself::protocols::native {

std::string encode(const core::engine::Event& event);

}  // namespace nself::protocols::native
