#pragma once

// Role U: per-user limits, on the user's shard (docs/ENGINE_DESIGN.md). One
// owner per user means a user can never exceed a limit by spreading its
// connections over loops, at the cost of one hop per rated request when the
// user's shard is not the connection's (none with one loop).
// - connections of the user in this process (max_connections_per_user);
// - the rate buckets shared by the user's connections, one for message,
//   typing and presence, one for store requests (history, read), kept after
//   the last connection closes until both have refilled, so that
//   reconnecting does not reset them;
// - the flood guard of each connection (rejections in a row -> close 4008).

#include <memory>

#include "core/engine/context.hpp"
#include "core/engine/inputs.hpp"

namespace nself::core::engine {

class Users {
 public:
  Users();
  ~Users();
  Users(const Users&) = delete;
  Users& operator=(const Users&) = delete;

  void on(AdmitConnection& message, Context& ctx);
  void on(ReleaseConnection& message, Context& ctx);
  void on(AdmitRequest& message, Context& ctx);
  void tick(Context& ctx);

  std::size_t tracked_users() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace nself::core::engine
