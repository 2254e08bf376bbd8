#pragma once

// How the admin API shows stored rows as JSON: channels, members, messages
// and broadcasts (the shapes docs/API.md documents). Private to server/api/.

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "store/record_json.hpp"
#include "store/store.hpp"

namespace nself::server::api {

// An ISO-8601 string, or null.
boost::json::value optional_time(const std::optional<store::Timestamp>& time);
// JSON text from the store, as a value (an invalid one, which the store never
// returns, becomes null rather than failing the response).
boost::json::value parse_json_text(const std::string& text);

using store::channel_json;
using store::member_json;
boost::json::object message_json(const store::StoredMessage& message, std::string_view slug);
boost::json::object broadcast_json(const store::Broadcast& broadcast);

}  // namespace nself::server::api
