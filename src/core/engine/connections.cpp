// STUB: the connection role is being written (issue 15); every method is a no-op.
#include "core/engine/connections.hpp"

namespace nself::core::engine {

struct Connections::State {
  std::vector<LocalSubscriber> none;
};

Connections::Connections() : state_(std::make_unique<State>()) {}
Connections::~Connections() = default;
void Connections::opened(ConnectionOpened&, Context&) {}
void Connections::frame(ClientFrame&, Context&) {}
void Connections::closed(const ConnectionClosed&, Context&) {}
void Connections::store_done(StoreReply&, Context&) {}
void Connections::tick(Context&) {}
void Connections::on(ConnectionAdmitted&, Context&) {}
void Connections::on(RequestRefused&, Context&) {}
void Connections::on(ToConnection&, Context&) {}
void Connections::on(JoinOutcome&, Context&) {}
void Connections::on(ChannelEventForLoop&, Context&) {}
void Connections::on(const AdminDisconnect&, Context&) {}
void Connections::on(const AdminChannelDeleted&, Context&) {}
void Connections::on(const AdminChannelArchived&, Context&) {}
void Connections::on(const AdminMemberRevoked&, Context&) {}
void Connections::on(const AdminBroadcast&, Context&) {}
void Connections::on(AdminAnnouncements&, Context&) {}
const std::vector<LocalSubscriber>& Connections::local_subscribers(const std::string&) const {
  return state_->none;
}
std::vector<ConnectionSummary> Connections::describe() const {
  return {};
}
std::size_t Connections::size() const {
  return 0;
}
std::size_t Connections::authenticated() const {
  return 0;
}

}  // namespace nself::core::engine
