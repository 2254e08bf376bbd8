#include "core/engine/store_requests.hpp"

#include <type_traits>

namespace nself::core::engine {

StoreClass class_of(const StoreRequest& request) {
  return std::visit(
      [](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, AppendMessage>) {
          return StoreClass::kCommit;
        } else if constexpr (std::is_same_v<T, ResolveChannel> ||
                             std::is_same_v<T, ReadForSubscribe> || std::is_same_v<T, ReadAccess> ||
                             std::is_same_v<T, ReadHistory> || std::is_same_v<T, MarkRead>) {
          return StoreClass::kRead;
        } else {
          return StoreClass::kBookkeeping;
        }
      },
      request);
}

}  // namespace nself::core::engine
