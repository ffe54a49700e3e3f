#pragma once
/// The latency histograms of one finished exchange, next to its access line.

#include "gateway/observability/access_log.hpp"
#include "gateway/observability/dg_metrics.hpp"

namespace dg::gateway {

/// dg_added_latency_seconds and, when the request reached the upstream,
/// dg_upstream_latency_seconds. The proxy calls it once per exchange (next to
/// AccessLog::write).
void record_access_latency(DgMetrics& m, const AccessEntry& entry) noexcept;

}  // namespace dg::gateway
