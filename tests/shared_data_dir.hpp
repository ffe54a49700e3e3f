#pragma once
/// Where the tests find the real traces and corpora: $DG_SHARED_DATA_DIR when
/// set (an empty directory runs every test on the simulator's built-in data
/// set, as a clone of the repository alone does), else ../shared/data next to
/// the repository.
#include <cstdlib>
#include <string>

namespace dg::test {

inline std::string shared_data_dir() {
  if (const char* env = std::getenv("DG_SHARED_DATA_DIR"); env && *env) return env;
#ifdef DG_SHARED_DATA_DIR
  return DG_SHARED_DATA_DIR;
#else
  return "../shared/data";
#endif
}

}  // namespace dg::test
