#pragma once
/// What was built: the project version and the git commit (set by CMake on
/// build_info.cpp alone, so a new commit recompiles one file). The commit is
/// read when CMake configures; `-DDG_COMMIT=...` overrides it (a Docker build
/// without .git), "unknown" when neither is available.

#include <string_view>

namespace dg::gateway {

std::string_view build_version() noexcept;
std::string_view build_commit() noexcept;

}  // namespace dg::gateway
