#pragma once

// The reads behind a `history` reply and a subscribe's replay, as both
// protocol layers answer them (the sharded engine through engine_jobs.cpp,
// the lock layer in realtime_handler.cpp): at most `limit` messages, oldest
// first, and whether more remain, read as one more than asked. The page's
// byte bound (core/history_page.hpp) is applied by the layer that replies.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "store/store.hpp"

namespace nself::store {

struct MessagePage {
  std::vector<StoredMessage> messages;  // oldest first
  bool has_more = false;  // newest / before: older remain; after / since: newer remain
};

// `history`: with `after` the oldest `limit` with seq > after; else the
// newest `limit` with seq < before (any seq without `before`).
MessagePage read_history(Store& store, std::string_view channel_id, std::int64_t limit,
                         std::optional<std::int64_t> before, std::optional<std::int64_t> after);

// A subscribe's replay: `history` N, the newest N; `since` S, the oldest
// core::protocol::kMaxHistory with seq > S. Neither: none.
MessagePage read_replay(Store& store, std::string_view channel_id,
                        std::optional<std::int64_t> history, std::optional<std::int64_t> since);

}  // namespace nself::store
