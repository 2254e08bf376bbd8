#include "core/protocol/json_writer.hpp"

#include <charconv>

namespace nself::core::protocol::detail {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the valid UTF-8 sequence starting at text[pos] (pos points at a
// byte >= 0x80), or 0 when it is invalid (overlong, surrogate, > U+10FFFF,
// truncated). Follows RFC 3629's table of well-formed byte sequences.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t offset) -> unsigned {
    return pos + offset < text.size() ? static_cast<unsigned char>(text[pos + offset]) : 0u;
  };
  const auto continuation = [](unsigned b) { return b >= 0x80 && b <= 0xBF; };
  const unsigned lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(byte(1)) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned second = byte(1);
    const bool ok_second = lead == 0xE0   ? (second >= 0xA0 && second <= 0xBF)
                           : lead == 0xED ? (second >= 0x80 && second <= 0x9F)
                                          : continuation(second);
    return ok_second && continuation(byte(2)) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned second = byte(1);
    const bool ok_second = lead == 0xF0   ? (second >= 0x90 && second <= 0xBF)
                           : lead == 0xF4 ? (second >= 0x80 && second <= 0x8F)
                                          : continuation(second);
    return ok_second && continuation(byte(2)) && continuation(byte(3)) ? 4 : 0;
  }
  return 0;
}

void append_digits(std::string& out, int value, int width) {
  char buffer[8];
  for (int index = width - 1; index >= 0; --index) {
    buffer[index] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(width));
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t pos = 0;
  std::size_t run_start = 0;  // start of the pending run of bytes copied verbatim
  const auto flush = [&] { out.append(text.data() + run_start, pos - run_start); };
  while (pos < text.size()) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++pos;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, pos);
      if (length != 0) {
        pos += length;
        continue;
      }
      flush();
      out.append(kReplacement);
      run_start = ++pos;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, sizeof escape);
      }
    }
    run_start = ++pos;
  }
  flush();
  out.push_back('"');
}

void append_timestamp(std::string& out, Timestamp time) {
  using namespace std::chrono;
  const sys_days day = floor<days>(time);
  const year_month_day date(day);
  const hh_mm_ss<milliseconds> clock(time - day);
  int year = static_cast<int>(date.year());
  if (year < 0) year = 0;
  if (year > 9999) year = 9999;
  out.push_back('"');
  append_digits(out, year, 4);
  out.push_back('-');
  append_digits(out, static_cast<int>(static_cast<unsigned>(date.month())), 2);
  out.push_back('-');
  append_digits(out, static_cast<int>(static_cast<unsigned>(date.day())), 2);
  out.push_back('T');
  append_digits(out, static_cast<int>(clock.hours().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<int>(clock.minutes().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<int>(clock.seconds().count()), 2);
  out.push_back('.');
  append_digits(out, static_cast<int>(clock.subseconds().count()), 3);
  out.append("Z\"");
}

void append_integer(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void append_ref_member(std::string& out, const Ref& ref) {
  if (const auto* text = std::get_if<std::string>(&ref)) {
    out.append(",\"ref\":");
    append_json_string(out, *text);
  } else if (const auto* number = std::get_if<std::int64_t>(&ref)) {
    out.append(",\"ref\":");
    append_integer(out, *number);
  }
}

}  // namespace nself::core::protocol::detail
