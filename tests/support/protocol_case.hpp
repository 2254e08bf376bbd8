#pragma once

// The protocol case files (tests/data/protocol/*.txt): their typed form, the
// parser, and the JSON matcher with placeholders and captures. The format is
// described in tests/data/protocol/README.md.
//
// Nothing here knows about sockets, servers or GoogleTest: the socket driver
// (tests/integration/protocol/) and a driver for the pure engine read the same
// steps and match frames with the same matcher. Time in a file is relative
// ("exp=+5s", "advance: 2s"); each driver turns it into its own clock.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nself::test::protocol {

// A file that does not parse: what() is "file:line: message".
class CaseParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ChannelKind { kPublic, kPrivate, kPresence };

// `channel: <slug> <public|private|presence> [ephemeral] [archived] [max_members=N]`
struct ChannelSetup {
  int line = 0;
  std::string slug;
  ChannelKind kind = ChannelKind::kPublic;
  bool ephemeral = false;
  bool archived = false;  // archived after its stored messages are written
  int max_members = 100;
};

// `member: <slug> <user> [can_send=false]`
struct MemberSetup {
  int line = 0;
  std::string slug;
  std::string user;
  bool can_send = true;
};

// `stored: <slug> <user> <content-json>`: a message stored before the server
// starts (seq 1, 2, ... per channel, in file order).
struct StoredSetup {
  int line = 0;
  std::string slug;
  std::string user;
  std::string content;  // JSON text, stored as written
};

// A JWT to sign: `token: <name> <user|-> [role=R] [exp=+Ns|-Ns|none] [nbf=+Ns]
// [alg=HS256|HS384|HS512|none] [secret=wrong] [sub=hasura|none]`, and the
// options of `connect: ... as <user>`. Times are seconds relative to the moment
// the token is used (signed), which is when the step naming it runs.
struct TokenSpec {
  int line = 0;
  std::string name;  // empty for a connect's own token
  std::string user;
  std::string role = "user";
  std::optional<std::int64_t> exp_seconds = 3600;  // none: no exp claim
  std::optional<std::int64_t> nbf_seconds;         // none: no nbf claim
  std::string alg = "HS256";                       // "none": unsigned
  bool wrong_secret = false;
  // How the user id is carried: "sub" (the claim), "hasura" (x-hasura-user-id
  // inside https://hasura.io/jwt/claims) or "none" (no user id at all).
  std::string subject = "sub";
  // `garbage`: the token is this literal text instead of a JWT.
  std::optional<std::string> literal;
};

enum class Via { kQuery, kHeader, kMessage };

// `connect: <conn> as <user> [role=..] [exp=..] [via=..] [batch=1]`: opens and
// authenticates; the driver consumes the auth_ok (checking it names the user).
// `connect: <conn> anonymous [batch=1]`: opens without a token.
// `connect: <conn> token=$name [via=query|header] [batch=1]`: opens with that
// token and consumes nothing (the case expects auth_ok, or expect-http).
// `origin=<url>` adds an Origin header.
struct Connect {
  int line = 0;
  std::string conn;
  enum class Mode { kAs, kAnonymous, kToken } mode = Mode::kAs;
  TokenSpec token;         // kAs
  std::string token_name;  // kToken
  Via via = Via::kQuery;
  bool batch = false;
  std::string origin;
};

// `send: <conn> <text>`: one text frame, the rest of the line exactly
// (after $name substitution). `send*N:` sends it N times.
struct Send {
  int line = 0;
  std::string conn;
  std::string text;
  int times = 1;
};

// `send-frame: <conn> <text|binary|cont|ping|pong|close|0xN> [fin=0] [unmasked]
// <payload>`: any frame, payload as in tests/data/ws ("strings", hex bytes, "x"*N).
struct SendFrame {
  int line = 0;
  std::string conn;
  std::uint8_t opcode = 1;
  bool fin = true;
  bool masked = true;
  std::string payload;
};

// `expect: <conn> <json>`: the next event on the connection matches.
// `expect*N:` expects it N times.
struct Expect {
  int line = 0;
  std::string conn;
  std::string json;  // template: placeholders and $captures, parsed when run
  int times = 1;
};

// `expect-batch: <conn> <json> <json> ...`: the next frame holds exactly these
// events joined by "\n" (batch mode). An engine driver, which has no frames,
// reads it as one expect per value.
struct ExpectBatch {
  int line = 0;
  std::string conn;
  std::vector<std::string> json;
};

// `expect-none: <conn>`: nothing else arrived (proved with a ping barrier).
struct ExpectNone {
  int line = 0;
  std::string conn;
};

// `expect-close: <conn> <code>`: the server closes the connection with code.
struct ExpectClose {
  int line = 0;
  std::string conn;
  std::uint16_t code = 0;
};

// `expect-http: <conn> <status>`: the upgrade was refused with this status.
struct ExpectHttp {
  int line = 0;
  std::string conn;
  int status = 0;
};

// `advance: <N>s` or `<N>ms`: time passes.
struct Advance {
  int line = 0;
  std::chrono::milliseconds by{0};
};

// `close: <conn> [code]`: the client closes (close frame, default 1000) and
// the driver waits for the server's close reply; `drop: <conn>`: the client
// drops the TCP connection without a close frame.
struct Close {
  int line = 0;
  std::string conn;
  std::uint16_t code = 1000;
  bool drop = false;
};

// `token: ...` inside a case (a token only that case sees).
struct DefineToken {
  int line = 0;
  TokenSpec token;
};

// `admin: disconnect <conn>` (DELETE /api/connections/{id}),
// `admin: delete-channel <slug>`, `admin: archive-channel <slug>`,
// `admin: publish <slug> <content-json>` (POST /api/channels/{c}/messages),
// `admin: broadcast <slug|*> <event> <payload-json>`,
// `admin: member <slug> <user> [can_send=false]` (POST .../members),
// `admin: shutdown` (the server stops: the last step of a file).
struct Admin {
  int line = 0;
  std::string operation;
  std::vector<std::string> arguments;  // words; a JSON argument is the rest of the line
};

using Step = std::variant<Connect, Send, SendFrame, Expect, ExpectBatch, ExpectNone, ExpectClose,
                          ExpectHttp, Advance, Close, DefineToken, Admin>;

// The line a step came from.
int line_of(const Step& step);

struct Case {
  int line = 0;
  std::string title;
  std::vector<Step> steps;
};

struct CaseFile {
  std::string file;  // file name, e.g. "auth.txt"
  std::string name;  // GoogleTest-safe name from the stem, e.g. "auth"
  std::vector<std::pair<std::string, std::string>> config;  // `config: KEY=VALUE`
  std::vector<ChannelSetup> channels;
  std::vector<MemberSetup> members;
  std::vector<StoredSetup> stored;
  std::vector<TokenSpec> tokens;  // file-level `token:` lines
  std::vector<Case> cases;
};

// Parses the text of one file; `file` names it in errors. Throws
// CaseParseError ("file:line: message") at the first problem.
CaseFile parse_case_file(std::string_view text, const std::string& file);

struct LoadResult {
  std::vector<CaseFile> files;
  std::vector<std::string> errors;  // "file:line: message"
};

// Parses every *.txt file in `dir`, sorted by name. Never throws.
LoadResult load_case_files(const std::filesystem::path& dir);

// ---- matching

// Values captured with "<=name>" in expectations, per case.
using Captures = std::map<std::string, boost::json::value>;

// Replaces every `$name` (name: a letter, then letters, digits, '_', '-' and
// '.', not ending with '-' or '.') in `text` with
// resolve(name): a captured string is inserted without quotes (write "$id"),
// any other value as its JSON text. Throws std::invalid_argument naming an
// unknown name. `$` not followed by a letter is kept.
std::string substitute(std::string_view text,
                       const std::function<std::optional<std::string>(std::string_view)>& resolve);

// The text a capture is substituted as (see substitute()).
std::string capture_text(const boost::json::value& value);

// Matches `actual` against `expected`: objects by key set (any order), arrays
// element by element, scalars by value, and these strings as placeholders:
//   "<any>"    any value          "<int>"   an integer
//   "<uuid>"   a lowercase 8-4-4-4-12 UUID string
//   "<ts>"     an ISO-8601 UTC timestamp with milliseconds (2026-01-30T10:00:00.000Z)
//   "<string>" any string         "<=name>" any value, stored in captures[name]
// Returns "" on a match (captures filled) or the first difference, with its
// path ("$.members[0].status: expected ..., got ...").
std::string match_json(const boost::json::value& expected, const boost::json::value& actual,
                       Captures& captures);

// Parses `expected` (a template, already substituted) and `actual` and matches
// them; also checks the server's key order promise: "type" is the first key of
// the actual object and "ref", when present, the second. "" on success.
std::string match_event(std::string_view expected, std::string_view actual, Captures& captures);

// Splits `text` into JSON values separated by whitespace (expect-batch).
std::vector<std::string> split_json_values(std::string_view text);

}  // namespace nself::test::protocol
