#include "conformance_case.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace nself::test::ws {
namespace {

using core::ws::Event;
using core::ws::FrameDecoder;
using core::ws::Opcode;

// A parse error in the current line.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// A cursor over one line's arguments.
class Tokens {
 public:
  explicit Tokens(std::string_view text) : text_(text) {}

  bool done() {
    skip_space();
    return pos_ >= text_.size();
  }
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  // The next whitespace-delimited word.
  std::string word() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (start == pos_) throw ParseError("expected a word");
    return std::string(text_.substr(start, pos_ - start));
  }
  // The next word, without consuming it.
  std::string peek_word() {
    const std::size_t saved = pos_;
    std::string next = word();
    pos_ = saved;
    return next;
  }
  // A "quoted string" with \" \\ \n \r \t \0 and \xHH escapes.
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '"') throw ParseError("expected '\"'");
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) throw ParseError("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) throw ParseError("dangling backslash");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case '0':
          out.push_back('\0');
          break;
        case 'x': {
          if (pos_ + 2 > text_.size()) throw ParseError("short \\x escape");
          out.push_back(static_cast<char>(hex_byte(text_.substr(pos_, 2))));
          pos_ += 2;
          break;
        }
        default:
          throw ParseError(std::string("unknown escape \\") + e);
      }
    }
    return out;
  }

  static std::uint8_t hex_byte(std::string_view two) {
    auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (two.size() != 2 || digit(two[0]) < 0 || digit(two[1]) < 0) {
      throw ParseError("bad hex byte '" + std::string(two) + "'");
    }
    return static_cast<std::uint8_t>(digit(two[0]) * 16 + digit(two[1]));
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::size_t parse_number(const std::string& text, const char* what) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit)) {
    throw ParseError(std::string("bad ") + what + " '" + text + "'");
  }
  return std::stoull(text);
}

// A payload: any sequence of "quoted strings" (each optionally followed by
// *N to repeat it N times) and two-digit hex bytes, concatenated. Nothing at
// all is the empty payload.
std::string parse_payload(Tokens& tokens) {
  std::string out;
  while (!tokens.done()) {
    if (tokens.peek() == '"') {
      const std::string part = tokens.quoted();
      std::size_t repeat = 1;
      if (tokens.peek() == '*') {
        std::string count = tokens.word();
        repeat = parse_number(count.substr(1), "repeat count");
      }
      for (std::size_t i = 0; i < repeat; ++i) out += part;
    } else {
      const std::string byte = tokens.word();
      out.push_back(static_cast<char>(Tokens::hex_byte(byte)));
    }
  }
  return out;
}

Opcode parse_opcode(const std::string& word, std::uint8_t& raw) {
  static const std::map<std::string, std::uint8_t> kNames = {
      {"cont", 0x0}, {"text", 0x1}, {"binary", 0x2}, {"close", 0x8}, {"ping", 0x9}, {"pong", 0xA}};
  if (auto it = kNames.find(word); it != kNames.end()) {
    raw = it->second;
  } else if (word.size() == 3 && word.rfind("0x", 0) == 0) {
    raw = Tokens::hex_byte("0" + word.substr(2));
  } else {
    throw ParseError("unknown opcode '" + word + "'");
  }
  return static_cast<Opcode>(raw);
}

// `in-masked:` / `in-frame:` <opcode> [fin=0|1] [rsv=N] [mask=XXXXXXXX] <payload>
std::string parse_frame(std::string_view args, bool masked) {
  Tokens tokens(args);
  std::uint8_t opcode = 0;
  parse_opcode(tokens.word(), opcode);
  bool fin = true;
  std::uint8_t rsv = 0;
  std::array<std::uint8_t, 4> mask{0x37, 0xfa, 0x21, 0x3d};
  while (!tokens.done() && tokens.peek() != '"' &&
         tokens.peek_word().find('=') != std::string::npos) {
    const std::string option = tokens.word();
    if (option == "fin=0" || option == "fin=1") {
      fin = option == "fin=1";
    } else if (option.rfind("rsv=", 0) == 0) {
      rsv = static_cast<std::uint8_t>(parse_number(option.substr(4), "rsv"));
      if (rsv > 7) throw ParseError("rsv must be 0..7");
    } else if (option.rfind("mask=", 0) == 0 && option.size() == 13) {
      for (std::size_t i = 0; i < 4; ++i) mask[i] = Tokens::hex_byte(option.substr(5 + 2 * i, 2));
    } else {
      throw ParseError("unknown frame option '" + option + "'");
    }
  }
  const std::string payload = parse_payload(tokens);
  // Built by hand rather than with the encoder so that control frames over
  // 125 bytes or fragmented control frames can be written too.
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  const std::size_t size = payload.size();
  if (size <= 125) {
    frame.push_back(static_cast<char>(mask_bit | static_cast<char>(size)));
  } else if (size <= 0xFFFF) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(size >> 8));
    frame.push_back(static_cast<char>(size));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) frame.push_back(static_cast<char>(std::uint64_t{size} >> (8 * i)));
  }
  if (!masked) return frame + payload;
  frame.append(reinterpret_cast<const char*>(mask.data()), 4);
  for (std::size_t i = 0; i < size; ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ static_cast<char>(mask[i % 4])));
  }
  return frame;
}

Expectation parse_expectation(std::string_view args) {
  Tokens tokens(args);
  const std::string kind = tokens.word();
  Expectation expectation;
  auto event = [&](Event::Kind event_kind) {
    expectation.event.kind = event_kind;
    expectation.event.payload = parse_payload(tokens);
  };
  if (kind == "text" || kind == "text-hex") {
    event(Event::Kind::kText);
  } else if (kind == "binary" || kind == "binary-hex") {
    event(Event::Kind::kBinary);
  } else if (kind == "ping" || kind == "ping-hex") {
    event(Event::Kind::kPing);
  } else if (kind == "pong" || kind == "pong-hex") {
    event(Event::Kind::kPong);
  } else if (kind == "close") {
    expectation.event.kind = Event::Kind::kClose;
    const std::string code = tokens.word();
    expectation.event.close_code =
        code == "none" ? core::ws::close_code::kNoStatus
                       : static_cast<std::uint16_t>(parse_number(code, "close code"));
    expectation.event.payload = parse_payload(tokens);
    if (code == "none" && !expectation.event.payload.empty()) {
      throw ParseError("'close none' cannot have a reason");
    }
  } else if (kind == "fail") {
    expectation.kind = Expectation::Kind::kFail;
    expectation.fail_code = static_cast<std::uint16_t>(parse_number(tokens.word(), "fail code"));
    if (!tokens.done()) {
      if (tokens.word() != "after") throw ParseError("expected 'after <bytes>'");
      expectation.fail_after = parse_number(tokens.word(), "byte count");
    }
  } else if (kind == "pending") {
    expectation.kind = Expectation::Kind::kPending;
  } else if (kind == "none") {
    expectation.kind = Expectation::Kind::kNone;
  } else {
    throw ParseError("unknown expectation '" + kind + "'");
  }
  if (!tokens.done()) throw ParseError("unexpected text after the expectation");
  return expectation;
}

void check_complete(const Case& c) {
  auto where = [&](const std::string& message) {
    return ParseError("case '" + c.title + "': " + message);
  };
  if (c.inputs.empty()) throw where("no input (in:, in-masked: or in-frame:)");
  if (c.expectations.empty()) throw where("no expect: line");
  for (std::size_t i = 0; i < c.expectations.size(); ++i) {
    const auto kind = c.expectations[i].kind;
    if (kind != Expectation::Kind::kEvent && i + 1 != c.expectations.size()) {
      throw where("fail/pending/none must be the last expectation");
    }
    if (kind == Expectation::Kind::kNone && c.expectations.size() != 1) {
      throw where("'none' cannot be combined with other expectations");
    }
  }
}

std::string test_name(const std::string& file, const std::string& title) {
  std::string stem = std::filesystem::path(file).stem().string();
  std::string raw = stem + "_" + title;
  std::string name;
  for (char c : raw) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '_') {
      name.push_back('_');
    }
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name;
}

void parse_file(const std::filesystem::path& path, LoadResult& result) {
  std::ifstream in(path);
  if (!in) {
    result.errors.push_back(path.string() + ": cannot open");
    return;
  }
  const std::string file = path.filename().string();
  std::optional<Case> current;
  int current_line = 0;
  auto finish = [&]() {
    if (!current) return;
    try {
      check_complete(*current);
      result.cases.push_back(std::move(*current));
    } catch (const ParseError& error) {
      result.errors.push_back(file + ":" + std::to_string(current_line) + ": " + error.what());
    }
    current.reset();
  };
  std::string line;
  int line_number = 0;
  bool skipping = false;  // after an error, until the next case
  while (std::getline(in, line)) {
    ++line_number;
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    try {
      const std::size_t colon = text.find(':');
      if (colon == std::string_view::npos) throw ParseError("expected 'key: value'");
      const std::string key(trim(text.substr(0, colon)));
      const std::string_view value = trim(text.substr(colon + 1));
      if (key == "case") {
        finish();
        skipping = false;
        if (value.empty()) throw ParseError("case without a title");
        current.emplace();
        current->file = file;
        current->line = current_line = line_number;
        current->title = std::string(value);
        continue;
      }
      if (skipping) continue;
      if (!current) throw ParseError("'" + key + "' before the first case:");
      if (key == "limit") {
        current->limit = parse_number(std::string(value), "limit");
      } else if (key == "role") {
        if (value != "server" && value != "client") throw ParseError("role is server or client");
        current->client_role = value == "client";
      } else if (key == "split") {
        if (value == "whole") {
          current->split = Split::kWhole;
        } else if (value == "each") {
          current->split = Split::kEach;
        } else if (value == "lines") {
          current->split = Split::kLines;
        } else {
          current->split = Split::kChunk;
          current->chunk_size = parse_number(std::string(value), "split");
          if (current->chunk_size == 0) throw ParseError("split chunk size 0");
        }
      } else if (key == "in") {
        Tokens tokens(value);
        std::string bytes = parse_payload(tokens);
        if (bytes.empty()) throw ParseError("empty in:");
        current->inputs.push_back(std::move(bytes));
      } else if (key == "in-masked" || key == "in-frame") {
        current->inputs.push_back(parse_frame(value, key == "in-masked"));
      } else if (key == "expect") {
        current->expectations.push_back(parse_expectation(value));
      } else {
        throw ParseError("unknown key '" + key + "'");
      }
    } catch (const ParseError& error) {
      result.errors.push_back(file + ":" + std::to_string(line_number) + ": " + error.what());
      current.reset();
      skipping = true;
    }
  }
  finish();
}

std::string describe(const Event& event) {
  static const char* kKinds[] = {"text", "binary", "ping", "pong", "close"};
  std::ostringstream out;
  out << kKinds[static_cast<int>(event.kind)];
  if (event.kind == Event::Kind::kClose) out << " " << event.close_code;
  out << " \"";
  const std::size_t shown = std::min<std::size_t>(event.payload.size(), 48);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(event.payload[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out << c;
    } else {
      static const char* kHex = "0123456789abcdef";
      out << "\\x" << kHex[c >> 4] << kHex[c & 0xF];
    }
  }
  out << "\"";
  if (event.payload.size() > shown) out << "... (" << event.payload.size() << " bytes)";
  return out.str();
}

bool same(const Event& a, const Event& b) {
  return a.kind == b.kind && a.payload == b.payload &&
         (a.kind != Event::Kind::kClose || a.close_code == b.close_code);
}

const char* split_name(Split split) {
  switch (split) {
    case Split::kWhole:
      return "whole";
    case Split::kEach:
      return "each";
    case Split::kLines:
      return "lines";
    case Split::kChunk:
      return "chunk";
  }
  return "?";
}

}  // namespace

LoadResult load_cases(const std::filesystem::path& dir) {
  LoadResult result;
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    result.errors.push_back(dir.string() + ": not a directory");
    return result;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  result.files = files.size();
  for (const auto& file : files) parse_file(file, result);

  std::map<std::string, int> seen;
  for (auto& c : result.cases) {
    c.name = test_name(c.file, c.title);
    if (seen[c.name]++ > 0) c.name += "_line" + std::to_string(c.line);
  }
  return result;
}

std::string run_case(const Case& c, Split split) {
  std::string all;
  for (const auto& input : c.inputs) all += input;
  std::vector<std::string_view> chunks;
  switch (split) {
    case Split::kWhole:
      chunks.emplace_back(all);
      break;
    case Split::kLines:
      for (const auto& input : c.inputs) chunks.emplace_back(input);
      break;
    case Split::kEach:
    case Split::kChunk: {
      const std::size_t step = split == Split::kEach ? 1 : c.chunk_size;
      for (std::size_t at = 0; at < all.size(); at += step) {
        chunks.push_back(std::string_view(all).substr(at, step));
      }
      break;
    }
  }

  FrameDecoder decoder({.max_message_bytes = c.limit, .expect_masked = !c.client_role});
  std::vector<Event> events;
  std::optional<core::ws::Violation> violation;
  std::size_t fed = 0;
  std::ostringstream problems;
  // Never more buffered than a full message, a control frame and a header.
  const std::size_t max_buffered = c.limit + 125 + 14;
  for (const auto chunk : chunks) {
    violation = decoder.feed(chunk, events);
    fed += chunk.size();
    if (decoder.buffered_bytes() > max_buffered) {
      problems << "  buffered " << decoder.buffered_bytes() << " bytes after " << fed << " (over "
               << max_buffered << ")\n";
    }
    if (violation) break;
  }

  std::vector<Event> expected_events;
  const Expectation* last = nullptr;
  for (const auto& expectation : c.expectations) {
    if (expectation.kind == Expectation::Kind::kEvent) {
      expected_events.push_back(expectation.event);
    } else {
      last = &expectation;
    }
  }
  const std::size_t common = std::min(events.size(), expected_events.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (!same(events[i], expected_events[i])) {
      problems << "  event " << i << ": got " << describe(events[i]) << ", expected "
               << describe(expected_events[i]) << "\n";
    }
  }
  for (std::size_t i = common; i < events.size(); ++i) {
    problems << "  unexpected event " << i << ": " << describe(events[i]) << "\n";
  }
  for (std::size_t i = common; i < expected_events.size(); ++i) {
    problems << "  missing event " << i << ": " << describe(expected_events[i]) << "\n";
  }

  const bool expect_fail = last && last->kind == Expectation::Kind::kFail;
  if (expect_fail) {
    if (!violation) {
      problems << "  expected fail " << last->fail_code << ", got no violation\n";
    } else {
      if (violation->close_code != last->fail_code) {
        problems << "  expected fail " << last->fail_code << ", got fail " << violation->close_code
                 << " (" << violation->reason << ")\n";
      }
      if (split == Split::kEach && last->fail_after && fed != *last->fail_after) {
        problems << "  violation reported after " << fed << " bytes, expected after "
                 << *last->fail_after << "\n";
      }
    }
  } else if (violation) {
    problems << "  unexpected fail " << violation->close_code << " (" << violation->reason << ")\n";
  }
  if (!violation && !decoder.closed()) {
    const bool expect_pending = last && last->kind == Expectation::Kind::kPending;
    if (decoder.mid_message() != expect_pending) {
      problems << (expect_pending ? "  expected the decoder to be mid-message at the end\n"
                                  : "  decoder left mid-message (add 'expect: pending'?)\n");
    }
  }

  const std::string text = problems.str();
  if (text.empty()) return "";
  return std::string("split ") + split_name(split) + ":\n" + text;
}

}  // namespace nself::test::ws
