#pragma once
/// Small helpers every test binary may use: a fresh scratch directory per
/// test and process, and counting occurrences in captured text.
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace dg::test {

/// An empty directory `<tmp>/dg-<name>-<pid>` (whatever was there is removed).
inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dg-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Non-overlapping occurrences of `needle` in `hay`.
inline std::size_t count_of(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

}  // namespace dg::test
