// STUB: the channel role is being written (issue 15); every method is a no-op.
#include "core/engine/channels.hpp"

namespace nself::core::engine {

struct Channels::State {};

Channels::Channels() : state_(std::make_unique<State>()) {}
Channels::~Channels() = default;
void Channels::on(JoinChannel&, Context&) {}
void Channels::on(LeaveChannel&, Context&) {}
void Channels::on(HistoryOfChannel&, Context&) {}
void Channels::on(ReadOfChannel&, Context&) {}
void Channels::on(MessageToChannel&, Context&) {}
void Channels::on(TypingToChannel&, Context&) {}
void Channels::on(PresenceToChannels&, Context&) {}
void Channels::on(Activity&, Context&) {}
void Channels::on(AdminPublish&, Context&) {}
void Channels::on(const AdminChannelDeleted&, Context&) {}
void Channels::on(const AdminChannelArchived&, Context&) {}
void Channels::on(const AdminMemberRevoked&, Context&) {}
void Channels::store_done(StoreReply&, Context&) {}
void Channels::tick(Context&) {}
std::size_t Channels::subscriber_count(const std::string&) const {
  return 0;
}

}  // namespace nself::core::engine
