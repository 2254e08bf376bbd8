// The quoting of one element of a PostgreSQL array literal (postgres_params.hpp):
// inside double quotes, only '"' and '\' need a backslash.

#include "store/postgres/postgres_params.hpp"

namespace nself::store::postgres {

void append_array_element(std::string& out, std::string_view value) {
  out.push_back('"');
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"' || value[i] == '\\') {
      out.append(value, start, i - start);
      out.push_back('\\');
      start = i;
    }
  }
  out.append(value, start, value.size() - start);
  out.push_back('"');
}

}  // namespace nself::store::postgres
