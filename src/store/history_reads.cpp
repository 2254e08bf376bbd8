#include "store/history_reads.hpp"

#include "core/protocol/requests.hpp"

namespace nself::store {
namespace {

// The newest `limit` before `before`: one more read tells whether older remain.
MessagePage newest(Store& store, std::string_view channel_id, std::int64_t limit,
                   std::optional<std::int64_t> before) {
  MessagePage page;
  page.messages = store.history(channel_id, before, static_cast<int>(limit) + 1);
  if (page.messages.size() > static_cast<std::size_t>(limit)) {
    page.has_more = true;
    page.messages.erase(page.messages.begin());
  }
  return page;
}

// The oldest `limit` after `after`: one more read tells whether newer remain.
MessagePage oldest(Store& store, std::string_view channel_id, std::int64_t limit,
                   std::int64_t after) {
  MessagePage page;
  page.messages = store.messages_since(channel_id, after, static_cast<int>(limit) + 1);
  if (page.messages.size() > static_cast<std::size_t>(limit)) {
    page.has_more = true;
    page.messages.pop_back();
  }
  return page;
}

}  // namespace

MessagePage read_history(Store& store, std::string_view channel_id, std::int64_t limit,
                         std::optional<std::int64_t> before, std::optional<std::int64_t> after) {
  if (after) return oldest(store, channel_id, limit, *after);
  return newest(store, channel_id, limit, before);
}

MessagePage read_replay(Store& store, std::string_view channel_id,
                        std::optional<std::int64_t> history, std::optional<std::int64_t> since) {
  if (history) return newest(store, channel_id, *history, std::nullopt);
  if (since) return oldest(store, channel_id, core::protocol::kMaxHistory, *since);
  return {};
}

}  // namespace nself::store
