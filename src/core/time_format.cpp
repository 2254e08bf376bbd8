#include "core/time_format.hpp"

#include <fmt/format.h>

namespace nself::core {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Reads exactly `count` decimal digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool is_char(std::string_view text, std::size_t pos, char expected) {
  return pos < text.size() && text[pos] == expected;
}

}  // namespace

std::string format_iso8601(Millis time) {
  const auto day = floor<days>(time);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<milliseconds> tod{time - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     tod.hours().count(), tod.minutes().count(), tod.seconds().count(),
                     tod.subseconds().count());
}

std::optional<Millis> parse_iso8601(std::string_view text) {
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (!is_char(text, 4, '-') || !is_char(text, 7, '-') || !is_char(text, 13, ':') ||
      !is_char(text, 16, ':')) {
    return std::nullopt;
  }
  if (!is_char(text, 10, 'T') && !is_char(text, 10, 't')) return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                        std::chrono::month{static_cast<unsigned>(*month)},
                                        std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;

  std::size_t pos = 19;
  int millis = 0;
  if (is_char(text, pos, '.')) {
    ++pos;
    std::size_t count = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (count < 3) millis = millis * 10 + (text[pos] - '0');
      ++count;
      ++pos;
    }
    if (count == 0 || count > 9) return std::nullopt;
    for (std::size_t i = count; i < 3; ++i) millis *= 10;
  }

  minutes offset{0};
  if (is_char(text, pos, 'Z') || is_char(text, pos, 'z')) {
    ++pos;
  } else if (is_char(text, pos, '+') || is_char(text, pos, '-')) {
    const bool negative = text[pos] == '-';
    const auto off_hours = digits(text, pos + 1, 2);
    const auto off_minutes = digits(text, pos + 4, 2);
    if (!off_hours || !off_minutes || !is_char(text, pos + 3, ':')) return std::nullopt;
    if (*off_hours > 23 || *off_minutes > 59) return std::nullopt;
    offset = hours{*off_hours} + minutes{*off_minutes};
    if (negative) offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const Millis local = std::chrono::sys_days{ymd} + hours{*hour} + minutes{*minute} +
                       seconds{*second} + milliseconds{millis};
  return local - offset;
}

}  // namespace nself::core
