// /api/channels/{channel}/members: list, add (or change) and remove a
// channel's members. Each change is audited and told to the protocol layer,
// so that live sessions see the new rights at once.

#include "server/api/admin_state.hpp"
#include "server/api/json_views.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::list_members(const std::string& channel_name, Responder respond) {
  with_channel(
      channel_name, std::move(respond), [](store::Store& store, const store::Channel& channel) {
        json::array members;
        for (const auto& member : store.get_channel_members(channel.id)) {
          members.push_back(member_json(member));
        }
        return json_reply(http::status::ok,
                          json::object{{"channel", channel.slug}, {"members", std::move(members)}});
      });
}

Responder AdminApi::State::noticing(std::shared_ptr<const std::string> channel_id,
                                    std::string user_id, MemberNotice notice, Responder respond) {
  std::weak_ptr<State> weak = shared_from_this();
  return [weak, channel_id = std::move(channel_id), user_id = std::move(user_id), notice,
          respond = std::move(respond)](HttpResponse response) {
    auto self = weak.lock();
    if (self && !channel_id->empty()) notice(self->handler, *channel_id, user_id);
    respond(std::move(response));
  };
}

void AdminApi::State::add_member(const std::string& actor, const std::string& channel_name,
                                 const HttpRequest& request, Responder respond) {
  const auto parsed = body_or_reply(request, respond);
  if (!parsed) return;
  const auto& body = *parsed;
  std::optional<std::string> user_id, role_text;
  std::optional<bool> can_send, can_invite;
  for (auto problem :
       {read_field(body, "user_id", user_id), read_field(body, "role", role_text),
        read_field(body, "can_send", can_send), read_field(body, "can_invite", can_invite)}) {
    if (problem) {
      respond(error_reply(http::status::bad_request, "bad_request", *problem));
      return;
    }
  }
  if (!user_id || user_id->empty() || user_id->size() > 255) {
    respond(error_reply(http::status::bad_request, "bad_request",
                        "\"user_id\" is required (1-255 characters)"));
    return;
  }
  store::MemberRole role = store::MemberRole::kMember;
  if (role_text) {
    auto parsed_role = store::parse_member_role(*role_text);
    if (!parsed_role) {
      respond(error_reply(http::status::bad_request, "bad_request",
                          "\"role\" must be owner, admin or member"));
      return;
    }
    role = *parsed_role;
  }
  // Once stored, what the engine cached of the membership is read again
  // (loop thread), so that a can_send of false applies to the next send.
  auto changed_in = std::make_shared<std::string>();
  Responder notify = noticing(
      changed_in, *user_id,
      [](RealtimeService& service, const std::string& channel, const std::string& user) {
        service.member_changed(channel, user);
      },
      std::move(respond));
  with_channel(channel_name, std::move(notify),
               [=](store::Store& store, const store::Channel& channel) {
                 const bool existed = store.find_member(channel.id, *user_id).has_value();
                 store::ChannelMember member;
                 member.channel_id = channel.id;
                 member.user_id = *user_id;
                 member.role = role;
                 member.can_send = can_send.value_or(true);
                 member.can_invite = can_invite.value_or(role != store::MemberRole::kMember);
                 member.subscribed_at = now_ms();
                 store.upsert_member(member);
                 store.append_audit(store::AuditEntry{
                     0, now_ms(), actor, "member.add", channel.id,
                     json::serialize(
                         json::object{{"user_id", *user_id}, {"role", store::to_string(role)}})});
                 auto stored = store.find_member(channel.id, *user_id);
                 *changed_in = channel.id;
                 return json_reply(existed ? http::status::ok : http::status::created,
                                   json::object{{"channel", channel.slug},
                                                {"member", member_json(stored.value_or(member))}});
               });
}

void AdminApi::State::remove_member(const std::string& actor, const std::string& channel_name,
                                    const std::string& user_id, Responder respond) {
  // Once removed, the user's live subscriptions to the channel (when private)
  // end too (loop thread), so that it stops receiving what it may not read.
  auto removed_from = std::make_shared<std::string>();
  Responder revoke = noticing(
      removed_from, user_id,
      [](RealtimeService& service, const std::string& channel, const std::string& user) {
        service.revoke_member(channel, user);
      },
      std::move(respond));
  with_channel(
      channel_name, std::move(revoke), [=](store::Store& store, const store::Channel& channel) {
        if (!store.remove_member(channel.id, user_id)) {
          return error_reply(http::status::not_found, "not_found",
                             "\"" + user_id + "\" is not a member of " + channel.slug);
        }
        store.append_audit(store::AuditEntry{0, now_ms(), actor, "member.remove", channel.id,
                                             json::serialize(json::object{{"user_id", user_id}})});
        *removed_from = channel.id;
        return json_reply(http::status::ok,
                          json::object{{"channel", channel.slug}, {"removed", user_id}});
      });
}

}  // namespace nself::server
