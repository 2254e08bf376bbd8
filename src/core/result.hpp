#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace nself {

// An expected failure, carried as a value (see docs/ARCHITECTURE.md, "Errors").
// `code` is a stable machine-readable word (the protocol's error codes, or
// "invalid_config" and the like); `message` is one human-readable line.
struct Error {
  std::string code;
  std::string message;
};

// Either a T or an Error. Expected failures (bad input, a missing channel) are
// Results; infrastructure failures are exceptions; bugs are asserts.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Result for operations that return nothing on success.
struct Ok {};
using Status = Result<Ok>;

}  // namespace nself
