// STUB: the user role is being written (issue 15); every method is a no-op.
#include "core/engine/users.hpp"

namespace nself::core::engine {

struct Users::State {};

Users::Users() : state_(std::make_unique<State>()) {}
Users::~Users() = default;
void Users::on(AdmitConnection&, Context&) {}
void Users::on(ReleaseConnection&, Context&) {}
void Users::on(AdmitRequest&, Context&) {}
void Users::tick(Context&) {}
std::size_t Users::tracked_users() const {
  return 0;
}

}  // namespace nself::core::engine
