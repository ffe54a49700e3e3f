#include "gateway/observability/access_metrics.hpp"

#include <algorithm>

namespace dg::gateway {

void record_access_latency(DgMetrics& m, const AccessEntry& entry) noexcept {
  m.observe_added_latency(std::max(0.0, entry.added_ms) / 1000.0);
  if (entry.upstream_ms > 0) m.observe_upstream_latency(entry.upstream_ms / 1000.0);
}

}  // namespace dg::gateway
