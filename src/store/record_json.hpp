#pragma once

// The JSON shapes of a stored channel and member, one for every place that
// shows them: the admin API (docs/API.md) and the CLI's --json output print
// the same objects.

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "store/store.hpp"

namespace nself::store {

// An ISO-8601 string, or null.
boost::json::value optional_time_json(const std::optional<Timestamp>& time);
// JSON text from the store, as a value (an invalid one, which the store never
// returns, becomes null rather than failing the response).
boost::json::value json_text_value(const std::string& text);

boost::json::object channel_json(const Channel& channel);
boost::json::object member_json(const ChannelMember& member);

}  // namespace nself::store
