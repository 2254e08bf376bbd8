// The protocol case parser and matcher (tests/support/protocol_case.hpp) on
// literal text: every directive, the errors with file:line, placeholders,
// captures and substitution.

#include "support/protocol_case.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/temp_dir.hpp"

namespace nself::test::protocol {
namespace {

namespace json = boost::json;

TEST(ProtocolCaseParser, ReadsSetupAndEveryStep) {
  const CaseFile file = parse_case_file(
      "# a comment\n"
      "config: REALTIME_MAX_SUBSCRIPTIONS=2\n"
      "channel: general public\n"
      "channel: team private archived max_members=3\n"
      "channel: room presence ephemeral\n"
      "member: team alice can_send=false\n"
      "stored: general bob {\"text\":\"hi\"}\n"
      "token: old alice exp=-10s role=admin\n"
      "\n"
      "case: first\n"
      "connect: a as alice role=admin exp=none via=header batch=1\n"
      "connect: b anonymous\n"
      "connect: c token=$old via=query origin=http://x.test\n"
      "token: late bob nbf=+60s alg=HS384 secret=wrong sub=hasura\n"
      "send: a {\"type\":\"ping\",\"ref\":1}\n"
      "send*3: b not json\n"
      "send-frame: b binary fin=0 unmasked \"ab\"*2 ff\n"
      "expect: a {\"type\":\"pong\",\"ref\":1}\n"
      "expect*2: a {\"type\":\"pong\"}\n"
      "expect-batch: a {\"type\":\"pong\"} {\"type\":\"pong\",\"ref\":2}\n"
      "expect-none: a\n"
      "expect-close: b 4001\n"
      "expect-http: c 401\n"
      "advance: 2s\n"
      "advance: 250ms\n"
      "close: a 1000\n"
      "drop: b\n"
      "admin: publish general {\"x\":1}\n"
      "admin: broadcast * news {\"at\":1}\n"
      "admin: member team carol can_send=false\n"
      "case: second\n"
      "token: junk literal=not.a.jwt\n"
      "admin: shutdown\n",
      "sample.txt");
  EXPECT_EQ(file.name, "sample");
  ASSERT_EQ(file.config.size(), 1u);
  EXPECT_EQ(file.config[0].first, "REALTIME_MAX_SUBSCRIPTIONS");
  EXPECT_EQ(file.config[0].second, "2");
  ASSERT_EQ(file.channels.size(), 3u);
  EXPECT_EQ(file.channels[1].kind, ChannelKind::kPrivate);
  EXPECT_TRUE(file.channels[1].archived);
  EXPECT_EQ(file.channels[1].max_members, 3);
  EXPECT_TRUE(file.channels[2].ephemeral);
  ASSERT_EQ(file.members.size(), 1u);
  EXPECT_FALSE(file.members[0].can_send);
  ASSERT_EQ(file.stored.size(), 1u);
  EXPECT_EQ(file.stored[0].content, "{\"text\":\"hi\"}");
  ASSERT_EQ(file.tokens.size(), 1u);
  EXPECT_EQ(file.tokens[0].exp_seconds, -10);
  EXPECT_EQ(file.tokens[0].role, "admin");

  ASSERT_EQ(file.cases.size(), 2u);
  const auto& steps = file.cases[0].steps;
  ASSERT_EQ(steps.size(), 20u);
  const auto& a = std::get<Connect>(steps[0]);
  EXPECT_EQ(a.mode, Connect::Mode::kAs);
  EXPECT_EQ(a.token.user, "alice");
  EXPECT_EQ(a.token.role, "admin");
  EXPECT_FALSE(a.token.exp_seconds.has_value());
  EXPECT_EQ(a.via, Via::kHeader);
  EXPECT_TRUE(a.batch);
  EXPECT_EQ(line_of(steps[0]), 11);
  EXPECT_EQ(std::get<Connect>(steps[1]).mode, Connect::Mode::kAnonymous);
  const auto& c = std::get<Connect>(steps[2]);
  EXPECT_EQ(c.token_name, "old");
  EXPECT_EQ(c.origin, "http://x.test");
  const auto& late = std::get<DefineToken>(steps[3]).token;
  EXPECT_EQ(late.nbf_seconds, 60);
  EXPECT_EQ(late.alg, "HS384");
  EXPECT_TRUE(late.wrong_secret);
  EXPECT_EQ(late.subject, "hasura");
  EXPECT_EQ(std::get<Send>(steps[4]).text, "{\"type\":\"ping\",\"ref\":1}");
  EXPECT_EQ(std::get<Send>(steps[5]).times, 3);
  EXPECT_EQ(std::get<Send>(steps[5]).text, "not json");
  const auto& frame = std::get<SendFrame>(steps[6]);
  EXPECT_EQ(frame.opcode, 2);
  EXPECT_FALSE(frame.fin);
  EXPECT_FALSE(frame.masked);
  EXPECT_EQ(frame.payload, "abab\xff");
  EXPECT_EQ(std::get<Expect>(steps[8]).times, 2);
  const auto& batch = std::get<ExpectBatch>(steps[9]);
  ASSERT_EQ(batch.json.size(), 2u);
  EXPECT_EQ(batch.json[1], "{\"type\":\"pong\",\"ref\":2}");
  EXPECT_EQ(std::get<ExpectClose>(steps[11]).code, 4001);
  EXPECT_EQ(std::get<ExpectHttp>(steps[12]).status, 401);
  EXPECT_EQ(std::get<Advance>(steps[13]).by, std::chrono::seconds(2));
  EXPECT_EQ(std::get<Advance>(steps[14]).by, std::chrono::milliseconds(250));
  EXPECT_FALSE(std::get<Close>(steps[15]).drop);
  EXPECT_TRUE(std::get<Close>(steps[16]).drop);
  const auto& publish = std::get<Admin>(steps[17]);
  EXPECT_EQ(publish.operation, "publish");
  ASSERT_EQ(publish.arguments.size(), 2u);
  EXPECT_EQ(publish.arguments[1], "{\"x\":1}");
  EXPECT_EQ(std::get<Admin>(steps[18]).arguments.size(), 3u);
  EXPECT_EQ(std::get<Admin>(steps[19]).arguments.size(), 3u);
  EXPECT_EQ(std::get<DefineToken>(file.cases[1].steps[0]).token.literal, "not.a.jwt");
}

// Each bad file fails with its own line number.
TEST(ProtocolCaseParser, ReportsTheFileAndLineOfAnError) {
  const std::pair<const char*, const char*> kBad[] = {
      {"case: a\nfrobnicate: x\n", "bad.txt:2: unknown key 'frobnicate'"},
      {"case: a\nconnect: a as\n", "bad.txt:2: expected a user after 'as'"},
      {"case: a\nconnect: a as alice exp=soon\n", "bad.txt:2: bad duration 'soon'"},
      {"channel: g public\ncase: a\nsend: a x\nchannel: h public\n",
       "bad.txt:4: 'channel:' belongs before the first case"},
      {"member: nowhere alice\n", "bad.txt:1: no channel 'nowhere' declared above"},
      {"case: a\nsend: a x\ncase: a\nsend: a y\n", "bad.txt:3: two cases titled 'a'"},
      {"case: a\n", "bad.txt:1: case 'a' has no steps"},
      {"case: a\nexpect-batch: a {\"type\":\"pong\"}\n", "bad.txt:2: expect-batch: expected two"},
      {"case: a\nexpect-batch: a {\"type\" x\n", "bad.txt:2: not a sequence of JSON values"},
      {"case: a\nsend-frame: a text \"abc\n", "bad.txt:2: unterminated string"},
      {"case: a\nexpect-none: a extra\n", "bad.txt:2: unexpected text after 'expect-none:'"},
      {"case: a\nadmin: reboot\n", "bad.txt:2: unknown admin operation 'reboot'"},
      {"send: a x\n", "bad.txt:1: 'send:' before the first case"},
      {"# nothing\n", "bad.txt: no cases"},
  };
  for (const auto& [text, message] : kBad) {
    try {
      (void)parse_case_file(text, "bad.txt");
      ADD_FAILURE() << "parsed: " << text;
    } catch (const CaseParseError& error) {
      EXPECT_EQ(std::string(error.what()).rfind(message, 0), 0u) << error.what();
    }
  }
}

TEST(ProtocolCaseParser, LoadsEveryFileOfADirectoryAndReportsTheBadOnes) {
  TempDir dir;
  dir.write("b.txt", "case: one\nsend: a x\n");
  dir.write("a.txt", "case: one\nsend: a x\n");
  dir.write("c.txt", "case: one\nbogus: 1\n");
  dir.write("notes.md", "not a case file");
  const LoadResult result = load_case_files(dir.path());
  ASSERT_EQ(result.files.size(), 2u);
  EXPECT_EQ(result.files[0].file, "a.txt");
  EXPECT_EQ(result.files[1].file, "b.txt");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].rfind("c.txt:2:", 0), 0u) << result.errors[0];
  EXPECT_EQ(load_case_files(dir.path() / "missing").errors.size(), 1u);
}

std::string match(const char* expected, const char* actual, Captures& captures) {
  return match_json(json::parse(expected), json::parse(actual), captures);
}

std::string match(const char* expected, const char* actual) {
  Captures captures;
  return match(expected, actual, captures);
}

TEST(ProtocolCaseMatcher, ComparesValuesNotText) {
  EXPECT_EQ(match(R"({"a":1,"b":[1,"x",null]})", R"({ "b":[1,"x",null], "a":1 })"), "");
  EXPECT_EQ(match(R"({"n":1})", R"({"n":1.0})"), "");
  EXPECT_EQ(match(R"({"a":1})", R"({"a":2})"), "$.a: expected 1, got 2");
  EXPECT_EQ(match(R"({"a":1})", R"({"a":1,"b":2})"), R"($: unexpected key "b" in {"a":1,"b":2})");
  EXPECT_EQ(match(R"({"a":1,"b":2})", R"({"a":1})"), R"($: missing key "b" in {"a":1})");
  EXPECT_EQ(match(R"([1,2])", R"([1])"), "$: expected an array of 2 elements, got [1]");
  EXPECT_EQ(match(R"({"m":[{"s":"on"}]})", R"({"m":[{"s":"off"}]})"),
            R"($.m[0].s: expected "on", got "off")");
}

TEST(ProtocolCaseMatcher, Placeholders) {
  EXPECT_EQ(match(R"(["<any>","<any>"])", R"([null,{"x":1}])"), "");
  EXPECT_EQ(match(R"("<int>")", "42"), "");
  EXPECT_NE(match(R"("<int>")", "4.5"), "");
  EXPECT_NE(match(R"("<int>")", R"("42")"), "");
  EXPECT_EQ(match(R"("<string>")", R"("")"), "");
  EXPECT_EQ(match(R"("<uuid>")", R"("0193a7c2-5d1e-7c3a-9f00-1234567890ab")"), "");
  EXPECT_NE(match(R"("<uuid>")", R"("0193A7C2-5D1E-7C3A-9F00-1234567890AB")"), "");
  EXPECT_NE(match(R"("<uuid>")", R"("general")"), "");
  EXPECT_EQ(match(R"("<ts>")", R"("2026-01-30T10:00:00.000Z")"), "");
  EXPECT_NE(match(R"("<ts>")", R"("2026-01-30T10:00:00Z")"), "");
  EXPECT_NE(match(R"("<ts>")", "null"), "");
}

TEST(ProtocolCaseMatcher, CapturesAreKeptOnlyOnAMatchAndUsedLater) {
  Captures captures;
  EXPECT_NE(match(R"({"id":"<=id>","seq":1})", R"({"id":"x","seq":2})", captures), "");
  EXPECT_TRUE(captures.empty());
  EXPECT_EQ(match(R"({"id":"<=id>","seq":"<=seq>"})", R"({"id":"x","seq":7})", captures), "");
  EXPECT_EQ(captures.at("seq"), json::value(7));
  // "$name" alone is the captured value itself, of its own type.
  EXPECT_EQ(match(R"({"id":"$id","seq":"$seq"})", R"({"id":"x","seq":7})", captures), "");
  EXPECT_NE(match(R"({"seq":"$seq"})", R"({"seq":"7"})", captures), "");
  // Inside a longer string it is substituted as text.
  EXPECT_EQ(match(R"("id $id at $seq")", R"("id x at 7")", captures), "");
  EXPECT_EQ(match(R"("$nope")", R"("x")", captures), "$: unknown $nope");
}

TEST(ProtocolCaseMatcher, EventsKeepTypeFirstAndRefSecond) {
  Captures captures;
  EXPECT_EQ(match_event(R"({"ref":1,"type":"pong"})", R"({"type":"pong","ref":1})", captures), "");
  EXPECT_EQ(match_event(R"({"type":"pong","ref":1})", R"({"ref":1,"type":"pong"})", captures),
            "\"type\" is not the first key");
  EXPECT_EQ(match_event(R"({"type":"error","ref":1,"code":"x"})",
                        R"({"type":"error","code":"x","ref":1})", captures),
            "\"ref\" is not the second key");
  EXPECT_EQ(match_event(R"({"type":"pong"})", "not json", captures),
            "the server sent a frame that is not JSON");
  EXPECT_THROW(match_event("{oops", R"({"type":"pong"})", captures), std::invalid_argument);
}

TEST(ProtocolCaseSubstitution, ReplacesNamesAndKeepsOtherDollars) {
  auto resolve = [](std::string_view name) -> std::optional<std::string> {
    if (name == "tok") return "abc";
    if (name == "a.connection_id") return "c-1";
    return std::nullopt;
  };
  EXPECT_EQ(substitute(R"({"token":"$tok"})", resolve), R"({"token":"abc"})");
  EXPECT_EQ(substitute("$a.connection_id.", resolve), "c-1.");
  EXPECT_EQ(substitute("costs $5 or $", resolve), "costs $5 or $");
  EXPECT_THROW(substitute("$missing", resolve), std::invalid_argument);
  EXPECT_EQ(capture_text(json::value("x")), "x");
  EXPECT_EQ(capture_text(json::value(12)), "12");
}

TEST(ProtocolCaseSubstitution, SplitsASequenceOfJsonValues) {
  const auto values = split_json_values(R"( {"a":[1,2]}  "s" 12 {"b":"} {"})");
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[0], R"({"a":[1,2]})");
  EXPECT_EQ(values[1], R"("s")");
  EXPECT_EQ(values[2], "12");
  EXPECT_EQ(values[3], R"({"b":"} {"})");
}

}  // namespace
}  // namespace nself::test::protocol
