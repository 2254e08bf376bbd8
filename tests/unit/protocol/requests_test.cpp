#include "core/protocol/requests.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace nself::core::protocol {
namespace {

template <class T>
T expect_request(std::string_view frame) {
  const ParseOutcome outcome = parse_request(frame);
  if (!outcome.request.ok()) {
    ADD_FAILURE() << frame << " -> " << outcome.request.error().message;
    return T{};
  }
  const T* request = std::get_if<T>(&*outcome.request);
  if (request == nullptr) {
    ADD_FAILURE() << frame << " parsed as " << type_name(*outcome.request);
    return T{};
  }
  return *request;
}

// Expects a refusal with `code` whose message contains `fragment`; returns the outcome.
ParseOutcome expect_error(std::string_view frame, std::string_view fragment,
                          std::string_view code = "bad_request") {
  ParseOutcome outcome = parse_request(frame);
  EXPECT_FALSE(outcome.request.ok()) << frame << " was accepted";
  if (!outcome.request.ok()) {
    EXPECT_EQ(outcome.request.error().code, code) << frame;
    EXPECT_NE(outcome.request.error().message.find(fragment), std::string::npos)
        << frame << " -> " << outcome.request.error().message;
  }
  return outcome;
}

TEST(ParseRequest, Auth) {
  const auto auth = expect_request<AuthRequest>(R"({"type":"auth","token":"abc.def.ghi"})");
  EXPECT_EQ(auth.token, "abc.def.ghi");
  EXPECT_FALSE(auth.batch);
  EXPECT_TRUE(expect_request<AuthRequest>(R"({"type":"auth","token":"t","batch":true})").batch);
  expect_error(R"({"type":"auth"})", "missing field \"token\"");
  expect_error(R"({"type":"auth","token":null})", "missing field \"token\"");
  expect_error(R"({"type":"auth","token":42})", "\"token\" must be a string");
  expect_error(R"({"type":"auth","token":""})", "\"token\" must not be empty");
  expect_error(R"({"type":"auth","token":"t","batch":"yes"})", "\"batch\" must be a boolean");
}

TEST(ParseRequest, Subscribe) {
  const auto plain =
      expect_request<SubscribeRequest>(R"({"type":"subscribe","channel":"general"})");
  EXPECT_EQ(plain.channel, "general");
  EXPECT_FALSE(plain.history.has_value());
  EXPECT_FALSE(plain.since.has_value());

  EXPECT_EQ(
      expect_request<SubscribeRequest>(R"({"type":"subscribe","channel":"a","history":1})").history,
      1);
  EXPECT_EQ(expect_request<SubscribeRequest>(R"({"type":"subscribe","channel":"a","history":1000})")
                .history,
            kMaxHistory);
  EXPECT_EQ(
      expect_request<SubscribeRequest>(R"({"type":"subscribe","channel":"a","since":0})").since, 0);
  EXPECT_EQ(expect_request<SubscribeRequest>(
                R"({"type":"subscribe","channel":"a","since":9007199254740993})")
                .since,
            9007199254740993);

  expect_error(R"({"type":"subscribe"})", "missing field \"channel\"");
  expect_error(R"({"type":"subscribe","channel":7})", "\"channel\" must be a string");
  expect_error(R"({"type":"subscribe","channel":"a","history":0})",
               "\"history\" must be an integer from 1 to 1000");
  expect_error(R"({"type":"subscribe","channel":"a","history":1001})", "from 1 to 1000");
  expect_error(R"({"type":"subscribe","channel":"a","history":-5})", "from 1 to 1000");
  expect_error(R"({"type":"subscribe","channel":"a","history":2.5})", "must be an integer");
  expect_error(R"({"type":"subscribe","channel":"a","history":1e3})", "must be an integer");
  expect_error(R"({"type":"subscribe","channel":"a","history":"10"})", "must be an integer");
  expect_error(R"({"type":"subscribe","channel":"a","since":-1})",
               "\"since\" must be an integer >= 0");
  expect_error(R"({"type":"subscribe","channel":"a","since":18446744073709551615})", ">= 0");
  expect_error(R"({"type":"subscribe","channel":"a","since":1e400})", "must be an integer");
  expect_error(R"({"type":"subscribe","channel":"a","since":true})", "must be an integer");
  expect_error(R"({"type":"subscribe","channel":"a","history":5,"since":3})", "together");
}

TEST(ParseRequest, ChannelNamesAreSlugsOrUuids) {
  EXPECT_EQ(expect_request<UnsubscribeRequest>(
                R"({"type":"unsubscribe","channel":"123e4567-e89b-12d3-a456-426614174000"})")
                .channel,
            "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(
      expect_request<UnsubscribeRequest>(R"({"type":"unsubscribe","channel":"team-42"})").channel,
      "team-42");
  const std::string longest(64, 'a');
  EXPECT_EQ(
      expect_request<UnsubscribeRequest>(R"({"type":"unsubscribe","channel":")" + longest + R"("})")
          .channel,
      longest);
  for (std::string bad :
       std::vector<std::string>{"", "General", "has space", "-lead", "trail-", "a_b", "caf\\u00e9",
                                "a.b", "../etc", std::string(65, 'a')}) {
    expect_error(R"({"type":"unsubscribe","channel":")" + bad + R"("})",
                 "\"channel\" must be a channel slug");
  }
  expect_error(R"({"type":"unsubscribe"})", "missing field \"channel\"");
  expect_error(R"({"type":"unsubscribe","channel":["a"]})", "\"channel\" must be a string");
}

TEST(ParseRequest, MessageKeepsTheContentTextVerbatim) {
  const auto text = expect_request<MessageRequest>(
      R"({"type":"message","channel":"general","content":"Hello, world!"})");
  EXPECT_EQ(text.channel, "general");
  EXPECT_EQ(text.content_json, R"("Hello, world!")");

  // Numbers keep their spelling (Boost.JSON would print 0.1 as 1E-1), nested
  // values and escapes stay as sent.
  const auto object = expect_request<MessageRequest>(
      R"({"content": {"price": 0.1, "big": 123456789012345678901234567890, "s":"q\"}\\", "a":[1,{"b":[]}]} ,"type":"message","channel":"c"})");
  EXPECT_EQ(
      object.content_json,
      R"({"price": 0.1, "big": 123456789012345678901234567890, "s":"q\"}\\", "a":[1,{"b":[]}]})");

  for (std::string content :
       {"0", "-1.5e10", "true", "false", "[]", "{}", R"("")", R"("\u00e9\ud83d\ude00")"}) {
    EXPECT_EQ(expect_request<MessageRequest>(R"({"type":"message","channel":"c","content":)" +
                                             content + "}")
                  .content_json,
              content);
  }
}

TEST(ParseRequest, MessageUsesTheLastDuplicateContentLikeTheParser) {
  EXPECT_EQ(expect_request<MessageRequest>(
                R"({"type":"message","channel":"c","content":1,"content":[2]})")
                .content_json,
            "[2]");
  // An escaped key is still "content".
  EXPECT_EQ(expect_request<MessageRequest>(R"({"type":"message","channel":"c","\u0063ontent":"x"})")
                .content_json,
            R"("x")");
}

TEST(ParseRequest, MessageErrors) {
  expect_error(R"({"type":"message","channel":"c"})", "missing field \"content\"");
  expect_error(R"({"type":"message","channel":"c","content":null})", "missing field \"content\"");
  expect_error(R"({"type":"message","content":"x"})", "missing field \"channel\"");
  expect_error(R"({"type":"message","channel":"C","content":"x"})", "channel slug");
}

// PostgreSQL's jsonb cannot hold U+0000, so both backends refuse it at parse
// (issue 16, item 12), wherever it is in the content or the presence meta.
TEST(ParseRequest, RefusesTheNulCharacterInContentAndMeta) {
  for (std::string content : {R"("a\u0000b")", R"({"k":"\u0000"})", R"({"k\u0000":1})",
                              R"([1,{"x":["\u0000"]}])", R"("\\\u0000")"}) {
    const auto outcome =
        expect_error(R"({"type":"message","ref":"r1","channel":"c","content":)" + content + "}",
                     "\"content\" must not contain the character U+0000");
    EXPECT_EQ(std::get<std::string>(outcome.ref), "r1");
  }
  expect_error(R"({"type":"presence","status":"online","meta":{"d\u0000":"x"}})",
               "\"meta\" must not contain the character U+0000");
  // Look-alikes stay accepted: an escaped backslash before the letters u0000,
  // other control characters, and \u0000 outside the content (in an ignored field).
  for (std::string content : {R"("\\u0000")", R"("\\\\u0000")", R"("\u0001\u0100")", R"("u0000")",
                              R"({"\\u0000":"\u0010"})"}) {
    const auto message = expect_request<MessageRequest>(
        R"({"type":"message","channel":"c","content":)" + content + "}");
    EXPECT_EQ(message.content_json, content);
  }
  expect_error(R"({"type":"message","channel":"c","content":"\u00000"})",
               "must not contain the character U+0000");
  EXPECT_EQ(expect_request<MessageRequest>(
                R"({"type":"message","channel":"c","note":"\u0000","content":1})")
                .content_json,
            "1");
}

TEST(ParseRequest, History) {
  const auto defaults = expect_request<HistoryRequest>(R"({"type":"history","channel":"c"})");
  EXPECT_EQ(defaults.limit, kDefaultHistoryLimit);
  EXPECT_EQ(defaults.limit, 50);
  EXPECT_FALSE(defaults.before.has_value());
  const auto explicit_ =
      expect_request<HistoryRequest>(R"({"type":"history","channel":"c","limit":10,"before":99})");
  EXPECT_EQ(explicit_.limit, 10);
  EXPECT_EQ(explicit_.before, 99);
  expect_error(R"({"type":"history","channel":"c","limit":0})",
               "\"limit\" must be an integer from 1 to 1000");
  expect_error(R"({"type":"history","channel":"c","limit":1001})", "from 1 to 1000");
  expect_error(R"({"type":"history","channel":"c","before":-1})",
               "\"before\" must be an integer >= 0");
  expect_error(R"({"type":"history","channel":"c","before":"5"})", "must be an integer");
  expect_error(R"({"type":"history"})", "missing field \"channel\"");
}

TEST(ParseRequest, HistoryAfter) {
  EXPECT_FALSE(expect_request<HistoryRequest>(R"({"type":"history","channel":"c"})").after);
  const auto forward =
      expect_request<HistoryRequest>(R"({"type":"history","channel":"c","after":0,"limit":5})");
  EXPECT_EQ(forward.after, 0);
  EXPECT_EQ(forward.limit, 5);
  EXPECT_FALSE(forward.before.has_value());
  EXPECT_EQ(expect_request<HistoryRequest>(R"({"type":"history","channel":"c","after":41})").after,
            41);
  EXPECT_FALSE(expect_request<HistoryRequest>(R"({"type":"history","channel":"c","after":null})")
                   .after.has_value());
  expect_error(R"({"type":"history","channel":"c","after":-1})",
               "\"after\" must be an integer >= 0");
  expect_error(R"({"type":"history","channel":"c","after":1.5})", "must be an integer");
  expect_error(R"({"type":"history","channel":"c","before":9,"after":3})",
               "\"before\" and \"after\" cannot be used together");
}

TEST(ParseRequest, Typing) {
  EXPECT_TRUE(
      expect_request<TypingRequest>(R"({"type":"typing","channel":"c","typing":true})").typing);
  EXPECT_FALSE(
      expect_request<TypingRequest>(R"({"type":"typing","channel":"c","typing":false})").typing);
  expect_error(R"({"type":"typing","channel":"c"})", "missing field \"typing\"");
  expect_error(R"({"type":"typing","channel":"c","typing":1})", "\"typing\" must be a boolean");
  expect_error(R"({"type":"typing","typing":true})", "missing field \"channel\"");
}

TEST(ParseRequest, Presence) {
  const auto online = expect_request<PresenceRequest>(R"({"type":"presence","status":"online"})");
  EXPECT_EQ(online.status, PresenceStatus::kOnline);
  EXPECT_FALSE(online.meta_json.has_value());
  EXPECT_FALSE(online.channel.has_value());

  const auto away = expect_request<PresenceRequest>(
      R"({"type":"presence","status":"away","channel":"room","meta":{"custom_status":"In a meeting","device":"desktop"}})");
  EXPECT_EQ(away.status, PresenceStatus::kAway);
  EXPECT_EQ(to_string(away.status), "away");
  EXPECT_EQ(away.channel, "room");
  EXPECT_EQ(away.meta_json, R"({"custom_status":"In a meeting","device":"desktop"})");

  expect_error(R"({"type":"presence"})", "missing field \"status\"");
  expect_error(R"({"type":"presence","status":"offline"})",
               "\"status\" must be \"online\" or \"away\"");
  expect_error(R"({"type":"presence","status":1})", "\"status\" must be a string");
  expect_error(R"({"type":"presence","status":"online","meta":"x"})", "\"meta\" must be an object");
  expect_error(R"({"type":"presence","status":"online","meta":[1]})", "\"meta\" must be an object");
  expect_error(R"({"type":"presence","status":"online","channel":"Bad"})", "channel slug");
}

TEST(ParseRequest, PresenceMetaIsBounded) {
  const auto meta_of_size = [](std::size_t size) {
    // {"k":"xxx..."} is 8 bytes plus the x's.
    return R"({"k":")" + std::string(size - 8, 'x') + R"("})";
  };
  ASSERT_EQ(meta_of_size(kMaxMetaBytes).size(), kMaxMetaBytes);
  const auto ok = expect_request<PresenceRequest>(
      R"({"type":"presence","status":"online","meta":)" + meta_of_size(kMaxMetaBytes) + "}");
  EXPECT_EQ(ok.meta_json->size(), kMaxMetaBytes);
  const auto outcome = expect_error(R"({"type":"presence","ref":3,"status":"online","meta":)" +
                                        meta_of_size(kMaxMetaBytes + 1) + "}",
                                    "at most 4096 bytes", "payload_too_large");
  EXPECT_EQ(std::get<std::int64_t>(outcome.ref), 3);
}

TEST(ParseRequest, Read) {
  const auto read = expect_request<ReadRequest>(R"({"type":"read","channel":"c","seq":42})");
  EXPECT_EQ(read.channel, "c");
  EXPECT_EQ(read.seq, 42);
  expect_error(R"({"type":"read","channel":"c"})", "missing field \"seq\"");
  expect_error(R"({"type":"read","channel":"c","seq":-1})", "\"seq\" must be an integer >= 0");
  expect_error(R"({"type":"read","channel":"c","seq":"1"})", "must be an integer");
  expect_error(R"({"type":"read","seq":1})", "missing field \"channel\"");
}

TEST(ParseRequest, Ping) {
  expect_request<PingRequest>(R"({"type":"ping"})");
  EXPECT_EQ(type_name(Request{PingRequest{}}), "ping");
}

TEST(ParseRequest, IgnoresUnknownFields) {
  const auto ping = parse_request(R"({"type":"ping","future":{"x":[1,2]},"v":2})");
  ASSERT_TRUE(ping.request.ok());
  EXPECT_EQ(type_name(*ping.request), "ping");
}

TEST(ParseRequest, RejectsFramesThatAreNotRequestObjects) {
  expect_error("", "malformed JSON");
  expect_error("{", "malformed JSON");
  expect_error(R"({"type":"ping"} trailing)", "malformed JSON");
  expect_error(R"({"type":"ping",})", "malformed JSON");      // no trailing commas
  expect_error(R"({"type":"ping"/*c*/})", "malformed JSON");  // no comments
  expect_error("\"ping\"", "must be a JSON object");
  expect_error("42", "must be a JSON object");
  expect_error("null", "must be a JSON object");
  expect_error(R"([{"type":"ping"}])", "must be a JSON object");
  expect_error("{}", "missing field \"type\"");
  expect_error(R"({"type":null})", "missing field \"type\"");
  expect_error(R"({"type":1})", "\"type\" must be a string");
  expect_error(R"({"type":"PING"})", "unknown type \"PING\"");
  const auto long_type =
      expect_error(R"({"type":")" + std::string(1000, 'x') + R"("})", "unknown type");
  EXPECT_LT(long_type.request.error().message.size(), 64u);
}

TEST(ParseRequest, RejectsInvalidUtf8) {
  expect_error("{\"type\":\"auth\",\"token\":\"\xff\xfe\"}", "malformed JSON");
  expect_error("{\"type\":\"message\",\"channel\":\"c\",\"content\":\"\xc3\x28\"}",
               "malformed JSON");
}

TEST(ParseRequest, LimitsNestingDepth) {
  const auto nested = [](std::size_t depth) {
    return R"({"type":"message","channel":"c","content":)" + std::string(depth - 1, '[') +
           std::string(depth - 1, ']') + "}";
  };
  // The request object is level 1, so content may nest 63 more levels.
  EXPECT_EQ(expect_request<MessageRequest>(nested(kMaxJsonDepth)).content_json.size(),
            2 * (kMaxJsonDepth - 1));
  expect_error(nested(kMaxJsonDepth + 1), "nested deeper than 64");
  expect_error(nested(100000), "nested deeper than 64");
}

TEST(ParseRequest, Refs) {
  EXPECT_EQ(std::get<std::string>(parse_request(R"({"type":"ping","ref":"r-1"})").ref), "r-1");
  EXPECT_EQ(std::get<std::int64_t>(parse_request(R"({"type":"ping","ref":-7})").ref), -7);
  EXPECT_FALSE(has_ref(parse_request(R"({"type":"ping"})").ref));
  EXPECT_FALSE(has_ref(parse_request(R"({"type":"ping","ref":null})").ref));
  EXPECT_EQ(
      std::get<std::string>(
          parse_request(R"({"type":"ping","ref":")" + std::string(kMaxRefBytes, 'r') + R"("})").ref)
          .size(),
      kMaxRefBytes);

  for (std::string bad :
       std::vector<std::string>{"1.5", "true", "[1]", "{}", "18446744073709551615",
                                "\"" + std::string(kMaxRefBytes + 1, 'r') + "\""}) {
    const auto outcome = expect_error(R"({"type":"ping","ref":)" + bad + "}", "\"ref\" must be");
    EXPECT_FALSE(has_ref(outcome.ref)) << bad;
  }
}

TEST(ParseRequest, EchoesTheRefOnErrors) {
  auto outcome =
      expect_error(R"({"ref":"abc","type":"subscribe","channel":"Bad Name"})", "channel slug");
  EXPECT_EQ(std::get<std::string>(outcome.ref), "abc");
  outcome = expect_error(R"({"ref":12,"type":"nope"})", "unknown type");
  EXPECT_EQ(std::get<std::int64_t>(outcome.ref), 12);
  outcome = expect_error(R"({"ref":12})", "missing field \"type\"");
  EXPECT_EQ(std::get<std::int64_t>(outcome.ref), 12);
  // Malformed JSON has no ref to echo.
  outcome = expect_error(R"({"ref":12,"type":)", "malformed JSON");
  EXPECT_FALSE(has_ref(outcome.ref));
}

TEST(ParseFrame, SingleObject) {
  const ParsedFrame frame = parse_frame(R"({"type":"ping","ref":1})");
  EXPECT_FALSE(frame.batch);
  ASSERT_EQ(frame.outcomes.size(), 1u);
  EXPECT_TRUE(frame.outcomes[0].request.ok());
  EXPECT_EQ(std::get<std::int64_t>(frame.outcomes[0].ref), 1);
}

TEST(ParseFrame, BatchParsesEachElementIndependently) {
  const ParsedFrame frame = parse_frame(
      R"( [ {"type":"ping","ref":1}, {"type":"message","channel":"c","content":{"a":[1,"]}"]},"ref":"m"},
            {"type":"bogus","ref":3}, 7, {"type":"subscribe","channel":"x","ref":[1]} ] )");
  EXPECT_TRUE(frame.batch);
  ASSERT_EQ(frame.outcomes.size(), 5u);
  EXPECT_TRUE(frame.outcomes[0].request.ok());
  ASSERT_TRUE(frame.outcomes[1].request.ok());
  EXPECT_EQ(std::get<MessageRequest>(*frame.outcomes[1].request).content_json, R"({"a":[1,"]}"]})");
  EXPECT_EQ(std::get<std::string>(frame.outcomes[1].ref), "m");
  ASSERT_FALSE(frame.outcomes[2].request.ok());
  EXPECT_EQ(std::get<std::int64_t>(frame.outcomes[2].ref), 3);
  ASSERT_FALSE(frame.outcomes[3].request.ok());
  EXPECT_NE(frame.outcomes[3].request.error().message.find("must be a JSON object"),
            std::string::npos);
  ASSERT_FALSE(frame.outcomes[4].request.ok());
  EXPECT_FALSE(has_ref(frame.outcomes[4].ref));
}

TEST(ParseFrame, BatchSizeIsBounded) {
  const auto batch_of = [](std::size_t count) {
    std::string text = "[";
    for (std::size_t index = 0; index < count; ++index) {
      if (index > 0) text += ",";
      text += R"({"type":"ping","ref":)" + std::to_string(index) + "}";
    }
    return text + "]";
  };
  const ParsedFrame full = parse_frame(batch_of(kMaxBatchRequests));
  EXPECT_TRUE(full.batch);
  ASSERT_EQ(full.outcomes.size(), kMaxBatchRequests);
  EXPECT_EQ(std::get<std::int64_t>(full.outcomes.back().ref), 99);

  for (const std::string& text : {batch_of(kMaxBatchRequests + 1), std::string("[]")}) {
    const ParsedFrame refused = parse_frame(text);
    EXPECT_FALSE(refused.batch);
    ASSERT_EQ(refused.outcomes.size(), 1u);
    ASSERT_FALSE(refused.outcomes[0].request.ok());
    EXPECT_EQ(refused.outcomes[0].request.error().code, "bad_request");
    EXPECT_NE(refused.outcomes[0].request.error().message.find("1 to 100"), std::string::npos);
  }
}

TEST(ParseFrame, MalformedAndScalarFrames) {
  for (std::string text : {"[", "nope", "\"x\"", "3"}) {
    const ParsedFrame frame = parse_frame(text);
    EXPECT_FALSE(frame.batch);
    ASSERT_EQ(frame.outcomes.size(), 1u);
    EXPECT_FALSE(frame.outcomes[0].request.ok()) << text;
  }
}

}  // namespace
}  // namespace nself::core::protocol
