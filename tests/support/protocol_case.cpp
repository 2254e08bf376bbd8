#include "support/protocol_case.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace nself::test::protocol {
namespace {

namespace json = boost::json;

// A problem on the line being parsed; parse_case_file adds file and line.
struct LineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// Splits off the first whitespace-delimited word of `text`.
std::string next_word(std::string_view& text) {
  text = trim(text);
  std::size_t end = 0;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
  std::string word(text.substr(0, end));
  text = trim(text.substr(end));
  return word;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  while (!trim(text).empty()) out.push_back(next_word(text));
  return out;
}

std::int64_t parse_int(std::string_view text, const char* what) {
  std::string copy(text);
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(copy, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (copy.empty() || used != copy.size()) {
    throw LineError(std::string("bad ") + what + " '" + copy + "'");
  }
  return value;
}

// "+5s", "-5s", "5s", "250ms" -> milliseconds.
std::chrono::milliseconds parse_duration(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    return std::chrono::milliseconds(parse_int(text.substr(0, text.size() - 2), "duration"));
  }
  if (text.size() > 1 && text.back() == 's') {
    std::string_view number = text.substr(0, text.size() - 1);
    if (!number.empty() && number.front() == '+') number.remove_prefix(1);
    return std::chrono::seconds(parse_int(number, "duration"));
  }
  throw LineError("bad duration '" + std::string(text) + "' (write 5s, +5s, -5s or 250ms)");
}

std::int64_t parse_seconds(std::string_view text) {
  const auto duration = parse_duration(text);
  if (duration.count() % 1000 != 0) throw LineError("token times are whole seconds");
  return duration.count() / 1000;
}

bool is_connection_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string parse_conn(std::string_view& rest) {
  std::string conn = next_word(rest);
  if (!is_connection_name(conn)) throw LineError("expected a connection name, got '" + conn + "'");
  return conn;
}

// Applies one `key=value` option of a token or a connect's token; false when
// the option is not a token option.
bool apply_token_option(TokenSpec& token, const std::string& option) {
  const auto equals = option.find('=');
  if (equals == std::string::npos) return false;
  const std::string key = option.substr(0, equals);
  const std::string value = option.substr(equals + 1);
  if (key == "role") {
    token.role = value;
  } else if (key == "exp") {
    token.exp_seconds =
        value == "none" ? std::nullopt : std::optional<std::int64_t>(parse_seconds(value));
  } else if (key == "nbf") {
    token.nbf_seconds = parse_seconds(value);
  } else if (key == "alg") {
    static const std::set<std::string> kAlgorithms = {"HS256", "HS384", "HS512", "none"};
    if (kAlgorithms.count(value) == 0) throw LineError("alg is HS256, HS384, HS512 or none");
    token.alg = value;
  } else if (key == "secret") {
    if (value != "wrong") throw LineError("secret= takes only 'wrong'");
    token.wrong_secret = true;
  } else if (key == "sub") {
    if (value != "hasura" && value != "none") throw LineError("sub= is hasura or none");
    token.subject = value;
  } else {
    return false;
  }
  return true;
}

TokenSpec parse_token(std::string_view rest, int line) {
  TokenSpec token;
  token.line = line;
  token.name = next_word(rest);
  if (!is_connection_name(token.name)) throw LineError("expected a token name");
  const std::string second = next_word(rest);
  if (second.rfind("literal=", 0) == 0) {
    token.literal = second.substr(8);
    if (!trim(rest).empty()) throw LineError("nothing may follow literal=");
    return token;
  }
  if (second.empty()) throw LineError("expected the token's user");
  token.user = second;
  for (const auto& option : words(rest)) {
    if (!apply_token_option(token, option))
      throw LineError("unknown token option '" + option + "'");
  }
  return token;
}

ChannelKind parse_kind(const std::string& word) {
  if (word == "public") return ChannelKind::kPublic;
  if (word == "private") return ChannelKind::kPrivate;
  if (word == "presence") return ChannelKind::kPresence;
  throw LineError("channel type is public, private or presence, not '" + word + "'");
}

Connect parse_connect(std::string_view rest, int line) {
  Connect connect;
  connect.line = line;
  connect.conn = parse_conn(rest);
  const std::string mode = next_word(rest);
  if (mode == "as") {
    connect.mode = Connect::Mode::kAs;
    connect.token.line = line;
    connect.token.user = next_word(rest);
    if (connect.token.user.empty()) throw LineError("expected a user after 'as'");
  } else if (mode == "anonymous") {
    connect.mode = Connect::Mode::kAnonymous;
  } else if (mode.rfind("token=$", 0) == 0) {
    connect.mode = Connect::Mode::kToken;
    connect.token_name = mode.substr(7);
  } else {
    throw LineError("connect: expected 'as <user>', 'anonymous' or 'token=$name'");
  }
  for (const auto& option : words(rest)) {
    if (option == "batch=1") {
      connect.batch = true;
    } else if (option == "via=query" || option == "via=header" || option == "via=message") {
      connect.via = option == "via=query"    ? Via::kQuery
                    : option == "via=header" ? Via::kHeader
                                             : Via::kMessage;
    } else if (option.rfind("origin=", 0) == 0) {
      connect.origin = option.substr(7);
    } else if (connect.mode == Connect::Mode::kAs && apply_token_option(connect.token, option)) {
      continue;
    } else {
      throw LineError("unknown connect option '" + option + "'");
    }
  }
  if (connect.mode == Connect::Mode::kToken && connect.via == Via::kMessage) {
    throw LineError("token=$name connects with via=query or via=header (send auth yourself)");
  }
  if (connect.mode == Connect::Mode::kAnonymous && connect.via != Via::kQuery) {
    throw LineError("an anonymous connect has no via=");
  }
  return connect;
}

std::uint8_t hex_byte(std::string_view two) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (two.size() != 2 || digit(two[0]) < 0 || digit(two[1]) < 0) {
    throw LineError("bad hex byte '" + std::string(two) + "'");
  }
  return static_cast<std::uint8_t>(digit(two[0]) * 16 + digit(two[1]));
}

// "strings" (escapes \" \\ \n \r \t \0 \xHH, "ab"*3 repeats) and hex bytes.
std::string parse_payload(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  auto skip = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  for (skip(); pos < text.size(); skip()) {
    if (text[pos] != '"') {
      const std::size_t start = pos;
      while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
      out.push_back(static_cast<char>(hex_byte(text.substr(start, pos - start))));
      continue;
    }
    ++pos;
    std::string part;
    while (true) {
      if (pos >= text.size()) throw LineError("unterminated string");
      const char c = text[pos++];
      if (c == '"') break;
      if (c != '\\') {
        part.push_back(c);
        continue;
      }
      if (pos >= text.size()) throw LineError("dangling backslash");
      const char escape = text[pos++];
      switch (escape) {
        case '"':
        case '\\':
          part.push_back(escape);
          break;
        case 'n':
          part.push_back('\n');
          break;
        case 'r':
          part.push_back('\r');
          break;
        case 't':
          part.push_back('\t');
          break;
        case '0':
          part.push_back('\0');
          break;
        case 'x':
          if (pos + 2 > text.size()) throw LineError("short \\x escape");
          part.push_back(static_cast<char>(hex_byte(text.substr(pos, 2))));
          pos += 2;
          break;
        default:
          throw LineError(std::string("unknown escape \\") + escape);
      }
    }
    std::size_t repeat = 1;
    if (pos < text.size() && text[pos] == '*') {
      const std::size_t start = ++pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
      repeat = static_cast<std::size_t>(parse_int(text.substr(start, pos - start), "repeat"));
    }
    for (std::size_t i = 0; i < repeat; ++i) out += part;
  }
  return out;
}

SendFrame parse_send_frame(std::string_view rest, int line) {
  SendFrame frame;
  frame.line = line;
  frame.conn = parse_conn(rest);
  static const std::map<std::string, std::uint8_t> kOpcodes = {
      {"cont", 0x0}, {"text", 0x1}, {"binary", 0x2}, {"close", 0x8}, {"ping", 0x9}, {"pong", 0xA}};
  const std::string opcode = next_word(rest);
  if (auto found = kOpcodes.find(opcode); found != kOpcodes.end()) {
    frame.opcode = found->second;
  } else if (opcode.size() == 3 && opcode.rfind("0x", 0) == 0) {
    frame.opcode = hex_byte("0" + opcode.substr(2));
  } else {
    throw LineError("unknown opcode '" + opcode + "'");
  }
  while (true) {
    std::string_view probe = rest;
    const std::string option = next_word(probe);
    if (option == "fin=0") {
      frame.fin = false;
    } else if (option == "unmasked") {
      frame.masked = false;
    } else {
      break;
    }
    rest = probe;
  }
  frame.payload = parse_payload(rest);
  return frame;
}

// Checks that `text` is one JSON value (placeholders are strings, so an
// expectation is JSON before substitution unless it uses bare $captures).
void check_json_template(std::string_view text) {
  if (text.empty()) throw LineError("expected a JSON value");
}

Admin parse_admin(std::string_view rest, int line) {
  Admin admin;
  admin.line = line;
  admin.operation = next_word(rest);
  auto word = [&](const char* what) {
    std::string value = next_word(rest);
    if (value.empty())
      throw LineError(std::string("admin ") + admin.operation + ": expected " + what);
    admin.arguments.push_back(value);
  };
  auto json_rest = [&](const char* what) {
    if (trim(rest).empty())
      throw LineError(std::string("admin ") + admin.operation + ": expected " + what);
    admin.arguments.emplace_back(trim(rest));
    rest = {};
  };
  if (admin.operation == "disconnect") {
    word("a connection");
  } else if (admin.operation == "delete-channel" || admin.operation == "archive-channel") {
    word("a channel");
  } else if (admin.operation == "publish") {
    word("a channel");
    json_rest("content JSON");
  } else if (admin.operation == "broadcast") {
    word("a channel or *");
    word("an event name");
    json_rest("payload JSON");
  } else if (admin.operation == "member") {
    word("a channel");
    word("a user");
    for (const auto& option : words(rest)) {
      if (option != "can_send=false") throw LineError("admin member: only can_send=false");
      admin.arguments.push_back(option);
    }
    rest = {};
  } else if (admin.operation == "remove-member") {
    word("a channel");
    word("a user");
  } else if (admin.operation == "shutdown") {
  } else {
    throw LineError("unknown admin operation '" + admin.operation + "'");
  }
  if (!trim(rest).empty()) throw LineError("unexpected text after the admin operation");
  return admin;
}

std::string test_name(const std::string& file) {
  const std::string stem = std::filesystem::path(file).stem().string();
  std::string name;
  for (char c : stem) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '_') {
      name.push_back('_');
    }
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name;
}

}  // namespace

int line_of(const Step& step) {
  return std::visit([](const auto& typed) { return typed.line; }, step);
}

CaseFile parse_case_file(std::string_view text, const std::string& file) {
  CaseFile result;
  result.file = file;
  result.name = test_name(file);
  std::set<std::string> titles;
  std::set<std::string> slugs;
  int line_number = 0;
  std::optional<Case> current;
  auto finish = [&] {
    if (!current) return;
    if (current->steps.empty()) {
      throw CaseParseError(file + ":" + std::to_string(current->line) + ": case '" +
                           current->title + "' has no steps");
    }
    result.cases.push_back(std::move(*current));
    current.reset();
  };
  try {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = trim(text.substr(start, end - start));
      start = end + 1;
      ++line_number;
      if (line.empty() || line.front() == '#') continue;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) throw LineError("expected 'key: value'");
      std::string key(trim(line.substr(0, colon)));
      std::string_view rest = trim(line.substr(colon + 1));
      int times = 1;
      if (const auto star = key.find('*'); star != std::string::npos) {
        times = static_cast<int>(parse_int(key.substr(star + 1), "repeat count"));
        key.resize(star);
        if (times < 1 || (key != "send" && key != "expect")) {
          throw LineError("only send*N: and expect*N: repeat, N >= 1");
        }
      }
      const bool setup_key =
          key == "config" || key == "channel" || key == "member" || key == "stored";
      if (setup_key && (current || !result.cases.empty())) {
        throw LineError("'" + key + ":' belongs before the first case");
      }
      if (key == "config") {
        const auto equals = rest.find('=');
        if (equals == std::string_view::npos || equals == 0) throw LineError("config: KEY=VALUE");
        result.config.emplace_back(std::string(rest.substr(0, equals)),
                                   std::string(rest.substr(equals + 1)));
      } else if (key == "channel") {
        ChannelSetup channel;
        channel.line = line_number;
        channel.slug = next_word(rest);
        if (channel.slug.empty()) throw LineError("channel: expected a slug");
        if (!slugs.insert(channel.slug).second)
          throw LineError("channel '" + channel.slug + "' twice");
        channel.kind = parse_kind(next_word(rest));
        for (const auto& option : words(rest)) {
          if (option == "ephemeral") {
            channel.ephemeral = true;
          } else if (option == "archived") {
            channel.archived = true;
          } else if (option.rfind("max_members=", 0) == 0) {
            channel.max_members = static_cast<int>(parse_int(option.substr(12), "max_members"));
          } else {
            throw LineError("unknown channel option '" + option + "'");
          }
        }
        result.channels.push_back(channel);
      } else if (key == "member" || key == "stored") {
        const std::string slug = next_word(rest);
        if (slugs.count(slug) == 0) throw LineError("no channel '" + slug + "' declared above");
        const std::string user = next_word(rest);
        if (user.empty()) throw LineError(key + ": expected a user");
        if (key == "member") {
          MemberSetup member{line_number, slug, user, true};
          for (const auto& option : words(rest)) {
            if (option != "can_send=false") throw LineError("member: only can_send=false");
            member.can_send = false;
          }
          result.members.push_back(member);
        } else {
          if (rest.empty()) throw LineError("stored: expected content JSON");
          boost::system::error_code error;
          (void)json::parse(rest, error);
          if (error) throw LineError("stored: content is not JSON");
          result.stored.push_back({line_number, slug, user, std::string(rest)});
        }
      } else if (key == "token") {
        TokenSpec token = parse_token(rest, line_number);
        if (current) {
          current->steps.push_back(DefineToken{line_number, std::move(token)});
        } else {
          result.tokens.push_back(std::move(token));
        }
      } else if (key == "case") {
        finish();
        if (rest.empty()) throw LineError("case without a title");
        if (!titles.insert(std::string(rest)).second) {
          throw LineError("two cases titled '" + std::string(rest) + "'");
        }
        current.emplace();
        current->line = line_number;
        current->title = std::string(rest);
      } else {
        if (!current) throw LineError("'" + key + ":' before the first case");
        auto& steps = current->steps;
        if (key == "connect") {
          steps.push_back(parse_connect(rest, line_number));
        } else if (key == "send") {
          Send send{line_number, parse_conn(rest), std::string(rest), times};
          if (send.text.empty()) throw LineError("send: expected a frame");
          steps.push_back(std::move(send));
        } else if (key == "send-frame") {
          steps.push_back(parse_send_frame(rest, line_number));
        } else if (key == "expect") {
          Expect expect{line_number, parse_conn(rest), std::string(rest), times};
          check_json_template(expect.json);
          steps.push_back(std::move(expect));
        } else if (key == "expect-batch") {
          ExpectBatch batch{line_number, parse_conn(rest), split_json_values(rest)};
          if (batch.json.size() < 2) throw LineError("expect-batch: expected two or more values");
          steps.push_back(std::move(batch));
        } else if (key == "expect-none") {
          steps.push_back(ExpectNone{line_number, parse_conn(rest)});
        } else if (key == "expect-close" || key == "expect-http") {
          std::string conn = parse_conn(rest);
          const auto code =
              parse_int(next_word(rest), key == "expect-close" ? "close code" : "status");
          if (key == "expect-close") {
            steps.push_back(ExpectClose{line_number, conn, static_cast<std::uint16_t>(code)});
          } else {
            steps.push_back(ExpectHttp{line_number, conn, static_cast<int>(code)});
          }
        } else if (key == "advance") {
          const auto by = parse_duration(rest);
          if (by.count() <= 0) throw LineError("advance: a positive duration");
          steps.push_back(Advance{line_number, by});
        } else if (key == "close" || key == "drop") {
          Close close{line_number, parse_conn(rest), 1000, key == "drop"};
          if (!rest.empty()) {
            if (close.drop) throw LineError("drop: takes no code");
            close.code = static_cast<std::uint16_t>(parse_int(next_word(rest), "close code"));
          }
          steps.push_back(close);
        } else if (key == "admin") {
          steps.push_back(parse_admin(rest, line_number));
        } else {
          throw LineError("unknown key '" + key + "'");
        }
        if (!rest.empty() &&
            (key == "expect-none" || key == "expect-close" || key == "expect-http")) {
          throw LineError("unexpected text after '" + key + ":'");
        }
      }
    }
    finish();
  } catch (const LineError& error) {
    throw CaseParseError(file + ":" + std::to_string(line_number) + ": " + error.what());
  } catch (const std::invalid_argument& error) {
    throw CaseParseError(file + ":" + std::to_string(line_number) + ": " + error.what());
  }
  if (result.cases.empty()) throw CaseParseError(file + ": no cases");
  return result;
}

LoadResult load_case_files(const std::filesystem::path& dir) {
  LoadResult result;
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    result.errors.push_back(dir.string() + ": not a directory");
    return result;
  }
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
      paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      result.files.push_back(parse_case_file(text.str(), path.filename().string()));
    } catch (const CaseParseError& parse_error) {
      result.errors.push_back(parse_error.what());
    }
  }
  return result;
}

// ---- matching

std::string capture_text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  return json::serialize(value);
}

std::string substitute(std::string_view text,
                       const std::function<std::optional<std::string>(std::string_view)>& resolve) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const char c = text[pos];
    if (c != '$' || pos + 1 >= text.size() ||
        !std::isalpha(static_cast<unsigned char>(text[pos + 1]))) {
      out.push_back(c);
      ++pos;
      continue;
    }
    std::size_t end = pos + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                 text[end] == '_' || text[end] == '.' || text[end] == '-')) {
      ++end;
    }
    // A sentence's full stop or a dash after the name is not part of it.
    while (end > pos + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    const std::string_view name = text.substr(pos + 1, end - pos - 1);
    auto value = resolve(name);
    if (!value) throw std::invalid_argument("unknown $" + std::string(name));
    out += *value;
    pos = end;
  }
  return out;
}

namespace {

const std::regex& uuid_pattern() {
  static const std::regex pattern("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return pattern;
}

const std::regex& timestamp_pattern() {
  static const std::regex pattern(
      "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
  return pattern;
}

std::string shown(const json::value& value) {
  std::string text = json::serialize(value);
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

std::string match_at(const json::value& expected, const json::value& actual, Captures& captures,
                     const std::string& path) {
  auto differ = [&](const std::string& what) {
    return path + ": expected " + what + ", got " + shown(actual);
  };
  if (expected.is_string()) {
    const std::string_view text = expected.as_string();
    if (text == "<any>") return "";
    if (text == "<int>") return actual.is_int64() || actual.is_uint64() ? "" : differ("an integer");
    if (text == "<string>") return actual.is_string() ? "" : differ("a string");
    if (text == "<uuid>") {
      return actual.is_string() && std::regex_match(std::string(actual.as_string()), uuid_pattern())
                 ? ""
                 : differ("a UUID");
    }
    if (text == "<ts>") {
      return actual.is_string() &&
                     std::regex_match(std::string(actual.as_string()), timestamp_pattern())
                 ? ""
                 : differ("an ISO-8601 UTC timestamp with milliseconds");
    }
    if (text.size() > 3 && text.substr(0, 2) == "<=" && text.back() == '>') {
      captures[std::string(text.substr(2, text.size() - 3))] = actual;
      return "";
    }
    if (text.find('$') != std::string_view::npos) {
      auto resolve = [&](std::string_view name) -> std::optional<std::string> {
        const auto found = captures.find(std::string(name));
        if (found == captures.end()) return std::nullopt;
        return capture_text(found->second);
      };
      std::string substituted;
      try {
        substituted = substitute(text, resolve);
      } catch (const std::invalid_argument& error) {
        return path + ": " + error.what();
      }
      // "$name" alone stands for the captured value itself, of any type.
      const std::string_view name = text.substr(1);
      if (text.front() == '$' && captures.count(std::string(name)) != 0 &&
          substituted == capture_text(captures.at(std::string(name)))) {
        const json::value& value = captures.at(std::string(name));
        return value == actual ? "" : differ(shown(value));
      }
      return actual.is_string() && actual.as_string() == substituted
                 ? ""
                 : differ(shown(json::value(substituted)));
    }
  }
  if (expected.is_object()) {
    if (!actual.is_object()) return differ("an object");
    const auto& want = expected.as_object();
    const auto& got = actual.as_object();
    for (const auto& [key, value] : want) {
      const auto found = got.find(key);
      if (found == got.end())
        return path + ": missing key \"" + std::string(key) + "\" in " + shown(actual);
      std::string difference =
          match_at(value, found->value(), captures, path + "." + std::string(key));
      if (!difference.empty()) return difference;
    }
    for (const auto& [key, value] : got) {
      if (!want.contains(key)) {
        return path + ": unexpected key \"" + std::string(key) + "\" in " + shown(actual);
      }
    }
    return "";
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return differ("an array");
    const auto& want = expected.as_array();
    const auto& got = actual.as_array();
    if (want.size() != got.size()) {
      return differ("an array of " + std::to_string(want.size()) + " elements");
    }
    for (std::size_t index = 0; index < want.size(); ++index) {
      std::string difference =
          match_at(want[index], got[index], captures, path + "[" + std::to_string(index) + "]");
      if (!difference.empty()) return difference;
    }
    return "";
  }
  // Scalars: numbers compare by value whatever their representation (1 == 1u).
  if (expected.is_number() && actual.is_number()) {
    if (expected.is_double() || actual.is_double()) {
      return expected.to_number<double>() == actual.to_number<double>() ? ""
                                                                        : differ(shown(expected));
    }
    const bool same =
        (expected.is_int64() && actual.is_int64())
            ? expected.as_int64() == actual.as_int64()
            : expected.to_number<std::uint64_t>() == actual.to_number<std::uint64_t>();
    return same ? "" : differ(shown(expected));
  }
  return expected == actual ? "" : differ(shown(expected));
}

json::value parse_or_throw(std::string_view text, const char* what) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error) throw std::invalid_argument(std::string(what) + " is not JSON: " + std::string(text));
  return value;
}

}  // namespace

std::string match_json(const json::value& expected, const json::value& actual, Captures& captures) {
  Captures staged = captures;  // captures are kept only when everything matched
  std::string difference = match_at(expected, actual, staged, "$");
  if (difference.empty()) captures = std::move(staged);
  return difference;
}

std::string match_event(std::string_view expected, std::string_view actual, Captures& captures) {
  const json::value want = parse_or_throw(expected, "the expectation");
  boost::system::error_code error;
  const json::value got = json::parse(actual, error);
  if (error) return "the server sent a frame that is not JSON";
  if (got.is_object()) {
    const auto& object = got.as_object();
    if (object.empty() || object.begin()->key() != "type") return "\"type\" is not the first key";
    if (object.contains("ref") && (object.size() < 2 || (object.begin() + 1)->key() != "ref")) {
      return "\"ref\" is not the second key";
    }
  }
  return match_json(want, got, captures);
}

std::vector<std::string> split_json_values(std::string_view text) {
  std::vector<std::string> values;
  json::stream_parser parser;
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos >= text.size()) break;
    parser.reset();
    boost::system::error_code error;
    const std::size_t used = parser.write_some(text.substr(pos), error);
    if (error || !parser.done()) {
      // A value that ends at the end of the text (a number) needs finish().
      if (!error && pos + used == text.size()) parser.finish(error);
      if (error || !parser.done()) {
        throw std::invalid_argument("not a sequence of JSON values: " + std::string(text));
      }
    }
    values.emplace_back(trim(text.substr(pos, used)));
    pos += used;
  }
  return values;
}

}  // namespace nself::test::protocol
