// Role C: typing indicators (L checked the subscription). Not stored: to
// the channel's other users only (the sender's other tabs included, as
// today's fan-out skips the user), and an indicator not renewed within
// options.typing_timeout is sent as typing:false.
#include <utility>
#include <vector>

#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

void Channels::on(TypingToChannel& message, Context& ctx) {
  ChannelState& channel = channel_of(*state_, message.channel);
  const std::string& user_id = message.asker.user_id;
  if (message.typing) {
    channel.typing[user_id] = Typist{user_id, ctx.now().steady + ctx.options().typing_timeout};
  } else {
    channel.typing.erase(user_id);
  }
  fan_out(channel, TypingEvent{channel.info.slug, user_id, message.typing}, user_id, ctx);
}

void tick_typing(ChannelsState& state, Context& ctx) {
  // Collected first: a fan-out to this shard runs at once, and must not
  // meet a map being walked.
  std::vector<std::pair<std::string, std::string>> expired;  // channel id, user id
  for (auto& entry_of_channel : state.channels) {
    // Named, not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string& id = entry_of_channel.first;
    std::erase_if(entry_of_channel.second.typing, [&](const auto& entry) {
      if (entry.second.expires > ctx.now().steady) return false;
      expired.emplace_back(id, entry.second.user_id);
      return true;
    });
  }
  for (const auto& [channel_id, user_id] : expired) {
    if (ChannelState* channel = find_channel(state, channel_id)) {
      fan_out(*channel, TypingEvent{channel->info.slug, user_id, false}, user_id, ctx);
    }
  }
}

}  // namespace nself::core::engine
