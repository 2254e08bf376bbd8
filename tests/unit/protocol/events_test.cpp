#include "core/protocol/events.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <vector>

namespace nself::core::protocol {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const Timestamp kTime = std::chrono::sys_days{std::chrono::year{2026} / 1 / 30} + 10h + 1234ms;

// Parses an event strictly (Boost.JSON rejects invalid UTF-8) and returns it as an object.
json::object parse(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text << ": " << ec.message();
  EXPECT_TRUE(value.is_object()) << text;
  return value.is_object() ? value.get_object() : json::object();
}

std::vector<std::string> keys(const json::object& object) {
  std::vector<std::string> names;
  for (const auto& member : object) names.emplace_back(member.key());
  return names;
}

using Keys = std::vector<std::string>;

TEST(JsonWriter, FormatsTimestamps) {
  std::string out;
  detail::append_timestamp(out, kTime);
  EXPECT_EQ(out, R"("2026-01-30T10:00:01.234Z")");
  out.clear();
  detail::append_timestamp(out, Timestamp{});
  EXPECT_EQ(out, R"("1970-01-01T00:00:00.000Z")");
  out.clear();
  detail::append_timestamp(out, Timestamp{} - 1ms);  // before the epoch floors correctly
  EXPECT_EQ(out, R"("1969-12-31T23:59:59.999Z")");
  out.clear();
  detail::append_timestamp(
      out, std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s + 999ms);
  EXPECT_EQ(out, R"("2024-02-29T23:59:59.999Z")");
}

TEST(JsonWriter, EscapesLikeBoostJson) {
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c) all_ascii.push_back(static_cast<char>(c));
  const std::vector<std::string> samples = {
      "",
      "plain",
      R"(quote " backslash \ slash /)",
      "\b\f\n\r\t\x01\x1f\x7f",
      all_ascii,
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // 2, 3 and 4-byte UTF-8
      "\xef\xbf\xbf\xf4\x8f\xbf\xbf",               // U+FFFF, U+10FFFF
  };
  for (const std::string& sample : samples) {
    std::string ours;
    detail::append_json_string(ours, sample);
    EXPECT_EQ(ours, json::serialize(json::string_view(sample))) << sample;
    EXPECT_EQ(json::parse(ours).as_string(), sample);
  }
}

TEST(JsonWriter, ReplacesInvalidUtf8) {
  const std::string replacement = "\xef\xbf\xbd";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xff"
       "b",
       "a" + replacement + "b"},
      {"\xc3", replacement},                                      // truncated
      {"\xc3\x28", replacement + "("},                            // bad continuation
      {"\xc0\xaf", replacement + replacement},                    // overlong
      {"\xed\xa0\x80", replacement + replacement + replacement},  // surrogate
      {"\xf4\x90\x80\x80", replacement + replacement + replacement + replacement},  // > U+10FFFF
      {"\xe2\x82", replacement + replacement},
  };
  for (const auto& [input, expected] : cases) {
    std::string out;
    detail::append_json_string(out, input);
    boost::system::error_code ec;
    const json::value parsed = json::parse(out, ec);
    ASSERT_FALSE(ec) << "not valid JSON for input of size " << input.size();
    EXPECT_EQ(parsed.as_string(), expected);
  }
}

TEST(Events, AuthOk) {
  auto event = parse(auth_ok_event(Ref{std::string("a1")}, "user-1", "conn-1", kTime));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "user_id", "connection_id", "expires_at"}));
  EXPECT_EQ(event.at("type"), "auth_ok");
  EXPECT_EQ(event.at("ref"), "a1");
  EXPECT_EQ(event.at("user_id"), "user-1");
  EXPECT_EQ(event.at("connection_id"), "conn-1");
  EXPECT_EQ(event.at("expires_at"), "2026-01-30T10:00:01.234Z");

  event = parse(auth_ok_event(Ref{}, "u", "c", std::nullopt));
  EXPECT_EQ(keys(event), (Keys{"type", "user_id", "connection_id", "expires_at"}));
  EXPECT_TRUE(event.at("expires_at").is_null());
}

TEST(Events, SubscribedAndUnsubscribed) {
  auto event = parse(subscribed_event(Ref{std::int64_t{5}}, "general", 42));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "channel", "seq"}));
  EXPECT_EQ(event.at("ref"), 5);
  EXPECT_EQ(event.at("channel"), "general");
  EXPECT_EQ(event.at("seq"), 42);

  event = parse(subscribed_event(Ref{}, "general", 0, 7));
  EXPECT_EQ(keys(event), (Keys{"type", "channel", "seq", "unread"}));
  EXPECT_EQ(event.at("unread"), 7);

  event = parse(unsubscribed_event(Ref{std::string("u")}, "general"));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "channel"}));
  EXPECT_EQ(event.at("type"), "unsubscribed");
}

TEST(Events, LineBreaksInRawJsonBecomeSpacesSoEveryEventIsOneLine) {
  // Pretty-printed content: line breaks between tokens, an escaped one inside a string.
  const std::string content = "{\r\n  \"text\": \"a\\nb\",\n  \"list\": [1,\n2]\n}";
  const MessageView message{"general", "id-1", 1, "alice", content, kTime};
  const std::string text = message_event(message);
  EXPECT_EQ(text.find_first_of("\r\n"), std::string::npos) << text;
  const auto event = parse(text);
  EXPECT_EQ(event.at("content").at("text"), "a\nb");  // the escape is kept
  EXPECT_EQ(event.at("content").at("list").at(1), 2);
  // Presence metadata and broadcast payloads go through the same writer.
  const std::string meta = "{\n\"x\": 1\n}";
  const std::string join = presence_join_event("room", PresenceView{"bob", "online", meta, kTime});
  EXPECT_EQ(join.find('\n'), std::string::npos) << join;
  EXPECT_EQ(parse(join).at("type"), "presence_join");
}

TEST(Events, MessageEmbedsContentVerbatim) {
  const std::string content = R"({"text":"hi \"there\"","n":0.1,"list":[1,null,{"x":true}]})";
  const MessageView message{"general",        "123e4567-e89b-12d3-a456-426614174000",
                            9007199254740993, "user-\"1\"",
                            content,          kTime};
  const std::string text = message_event(message);
  EXPECT_NE(text.find(R"("content":)" + content), std::string::npos) << text;
  const auto event = parse(text);
  EXPECT_EQ(keys(event),
            (Keys{"type", "channel", "id", "seq", "user_id", "content", "created_at"}));
  EXPECT_EQ(event.at("type"), "message");
  EXPECT_EQ(event.at("channel"), "general");
  EXPECT_EQ(event.at("id"), "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(event.at("seq").as_int64(), 9007199254740993);
  EXPECT_EQ(event.at("user_id"), "user-\"1\"");
  EXPECT_EQ(event.at("content").at("text"), "hi \"there\"");
  EXPECT_EQ(event.at("content").at("list").at(2).at("x"), true);
  EXPECT_EQ(event.at("created_at"), "2026-01-30T10:00:01.234Z");

  const MessageView scalar{"c", "i", 1, "u", R"("just text")", kTime};
  EXPECT_EQ(parse(message_event(scalar)).at("content"), "just text");
}

TEST(Events, EscapesUserIdsAndChannels) {
  const std::string hostile =
      "a\"b\\c\nd\x01"
      "e\xc3\xa9\xf0\x9f\x98\x80</script>";
  auto event = parse(typing_event(hostile, hostile, true));
  EXPECT_EQ(event.at("channel").as_string(), hostile);
  EXPECT_EQ(event.at("user_id").as_string(), hostile);
  EXPECT_EQ(event.at("typing"), true);
  EXPECT_EQ(keys(event), (Keys{"type", "channel", "user_id", "typing"}));

  event = parse(auth_ok_event(Ref{hostile}, hostile, hostile, std::nullopt));
  EXPECT_EQ(event.at("ref").as_string(), hostile);
  EXPECT_EQ(event.at("user_id").as_string(), hostile);

  event = parse(message_event(MessageView{hostile, hostile, 1, hostile, "1", kTime}));
  EXPECT_EQ(event.at("user_id").as_string(), hostile);
  EXPECT_EQ(event.at("channel").as_string(), hostile);
}

TEST(Events, Ack) {
  const auto event = parse(ack_event(Ref{std::int64_t{-3}}, "msg-id", "general", 12));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "id", "channel", "seq"}));
  EXPECT_EQ(event.at("type"), "ack");
  EXPECT_EQ(event.at("ref"), -3);
  EXPECT_EQ(event.at("id"), "msg-id");
  EXPECT_EQ(event.at("channel"), "general");
  EXPECT_EQ(event.at("seq"), 12);
}

TEST(Events, History) {
  const std::vector<MessageView> messages = {
      {"general", "id-1", 1, "u1", R"("first")", kTime},
      {"general", "id-2", 2, "u2", R"({"a":[1,2]})", kTime + 1s},
  };
  auto event = parse(history_event(Ref{std::string("h")}, "general", messages, true));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "channel", "messages", "has_more"}));
  EXPECT_EQ(event.at("channel"), "general");
  EXPECT_EQ(event.at("has_more"), true);
  const json::array& list = event.at("messages").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(keys(list[0].as_object()), (Keys{"id", "seq", "user_id", "content", "created_at"}));
  EXPECT_EQ(list[0].at("id"), "id-1");
  EXPECT_EQ(list[0].at("seq"), 1);
  EXPECT_EQ(list[0].at("content"), "first");
  EXPECT_EQ(list[1].at("user_id"), "u2");
  EXPECT_EQ(list[1].at("content").at("a").at(1), 2);
  EXPECT_EQ(list[1].at("created_at"), "2026-01-30T10:00:02.234Z");

  event = parse(history_event(Ref{}, "general", {}, false));
  EXPECT_TRUE(event.at("messages").as_array().empty());
  EXPECT_EQ(event.at("has_more"), false);
}

TEST(Events, PongAndError) {
  EXPECT_EQ(pong_event(Ref{}), R"({"type":"pong"})");
  EXPECT_EQ(pong_event(Ref{std::int64_t{1}}), R"({"type":"pong","ref":1})");

  auto event = parse(
      error_event(Ref{std::string("r")}, Error{"bad_request", R"("channel" must be a string)"}));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "code", "message"}));
  EXPECT_EQ(event.at("code"), "bad_request");
  EXPECT_EQ(event.at("message"), R"("channel" must be a string)");
  event = parse(error_event(Ref{}, "token_expired", "token has expired"));
  EXPECT_EQ(keys(event), (Keys{"type", "code", "message"}));
}

TEST(Events, ChannelDeleted) {
  const auto event = parse(channel_deleted_event("general"));
  EXPECT_EQ(keys(event), (Keys{"type", "channel"}));
  EXPECT_EQ(event.at("type"), "channel_deleted");
  EXPECT_EQ(event.at("channel"), "general");
}

TEST(Events, Presence) {
  const std::string meta = R"({"device":"desktop"})";
  const std::vector<PresenceView> members = {{"u1", "online", meta, kTime},
                                             {"u2", "away", std::nullopt, kTime + 1s}};
  auto event = parse(presence_state_event(Ref{std::int64_t{4}}, "room", members));
  EXPECT_EQ(keys(event), (Keys{"type", "ref", "channel", "members"}));
  const json::array& list = event.at("members").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(keys(list[0].as_object()), (Keys{"user_id", "status", "meta", "last_active"}));
  EXPECT_EQ(list[0].at("meta").at("device"), "desktop");
  EXPECT_EQ(list[1].at("status"), "away");
  EXPECT_TRUE(list[1].at("meta").is_null());
  EXPECT_TRUE(parse(presence_state_event(Ref{}, "room", {})).at("members").as_array().empty());

  for (const auto& [text, type] :
       {std::pair{presence_join_event("room", members[0]), "presence_join"},
        std::pair{presence_update_event("room", members[0]), "presence_update"}}) {
    event = parse(text);
    EXPECT_EQ(keys(event), (Keys{"type", "channel", "user_id", "status", "meta", "last_active"}));
    EXPECT_EQ(event.at("type"), type);
    EXPECT_EQ(event.at("user_id"), "u1");
    EXPECT_EQ(event.at("status"), "online");
    EXPECT_EQ(event.at("meta").at("device"), "desktop");
    EXPECT_EQ(event.at("last_active"), "2026-01-30T10:00:01.234Z");
  }

  event = parse(presence_leave_event("room", "u1"));
  EXPECT_EQ(keys(event), (Keys{"type", "channel", "user_id"}));
  EXPECT_EQ(event.at("type"), "presence_leave");
}

TEST(Events, Broadcast) {
  auto event = parse(broadcast_event(BroadcastView{"b-1", std::string_view("alerts"), "deploy",
                                                   R"({"v":"1.2"})", kTime, kTime + 1h}));
  EXPECT_EQ(keys(event),
            (Keys{"type", "id", "channel", "event", "payload", "created_at", "expires_at"}));
  EXPECT_EQ(event.at("channel"), "alerts");
  EXPECT_EQ(event.at("event"), "deploy");
  EXPECT_EQ(event.at("payload").at("v"), "1.2");
  EXPECT_EQ(event.at("expires_at"), "2026-01-30T11:00:01.234Z");

  event =
      parse(broadcast_event(BroadcastView{"b-2", std::nullopt, "e", "null", kTime, std::nullopt}));
  EXPECT_TRUE(event.at("channel").is_null());
  EXPECT_TRUE(event.at("payload").is_null());
  EXPECT_TRUE(event.at("expires_at").is_null());
}

}  // namespace
}  // namespace nself::core::protocol
