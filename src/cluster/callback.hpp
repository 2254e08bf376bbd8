#pragma once

// The completion callback of an asynchronous cluster operation, and reply
// decoding shared by the components.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cluster/redis_connection.hpp"
#include "core/result.hpp"

namespace nself::cluster {

// Runs on the cluster's command thread (see redis_client.hpp): short, non-blocking.
template <class T>
using Callback = std::function<void(Result<T>)>;

namespace detail {

// Calls `done` (when set) with `value`.
template <class T>
void finish(const Callback<T>& done, Result<T> value) {
  if (done) done(std::move(value));
}

inline Error bad_reply(std::string_view what) {
  return Error{"redis_error", "unexpected reply from Redis for " + std::string(what)};
}

// An integer reply, or an integer in a string reply.
inline std::optional<std::int64_t> as_integer(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kInteger) return reply.integer;
  if (reply.type == RedisReply::Type::kString) {
    try {
      std::size_t used = 0;
      const auto value = std::stoll(reply.text, &used);
      if (used == reply.text.size()) return value;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace nself::cluster
