#include "gateway/observability/build_info.hpp"

#ifndef DG_VERSION
#define DG_VERSION "dev"
#endif
#ifndef DG_COMMIT
#define DG_COMMIT "unknown"
#endif

namespace dg::gateway {

std::string_view build_version() noexcept { return DG_VERSION; }
std::string_view build_commit() noexcept { return DG_COMMIT; }

}  // namespace dg::gateway
