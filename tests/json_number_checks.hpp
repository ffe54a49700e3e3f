#pragma once
/// Checks on JSON text the product writes for people and pipelines.
#include <cstddef>
#include <string_view>

namespace dg::test {

/// Whether a number outside the strings of `json` is written with an exponent
/// (1.7E9 for a timestamp, 5E1 for a count).
inline bool has_exponent_number(std::string_view json) {
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if ((c == 'e' || c == 'E') && i > 0 && json[i - 1] >= '0' && json[i - 1] <= '9') {
      return true;
    }
  }
  return false;
}

}  // namespace dg::test
