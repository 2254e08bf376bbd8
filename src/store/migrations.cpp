#include "store/migrations.hpp"

#include <algorithm>
#include <cstddef>

#include "core/embedded_file.hpp"
#include "store/store.hpp"

extern const nself::EmbeddedFile kMigrationFiles[];
extern const std::size_t kMigrationFiles_count;

namespace nself::store {

std::vector<Migration> migrations_for(std::string_view backend) {
  std::vector<Migration> result;
  const std::string suffix = "." + std::string(backend) + ".sql";
  for (std::size_t i = 0; i < kMigrationFiles_count; ++i) {
    const std::string_view file = kMigrationFiles[i].name;
    if (file.size() <= suffix.size() || !file.ends_with(suffix)) continue;
    const std::string_view stem = file.substr(0, file.size() - suffix.size());
    const bool well_formed =
        stem.size() > 5 && stem[4] == '_' &&
        std::all_of(stem.begin(), stem.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
    if (!well_formed) {
      throw StoreError("migration file '" + std::string(file) +
                       "' is not named NNNN_<name>.<backend>.sql");
    }
    const int version = std::stoi(std::string(stem.substr(0, 4)));
    result.push_back({version, std::string(stem.substr(5)), kMigrationFiles[i].contents});
  }
  std::sort(result.begin(), result.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < result.size(); ++i) {
    if (result[i].version == result[i - 1].version) {
      throw StoreError("two " + std::string(backend) + " migrations have version " +
                       std::to_string(result[i].version));
    }
  }
  return result;
}

}  // namespace nself::store
