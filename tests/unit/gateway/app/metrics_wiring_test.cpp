#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include "gateway/app/metrics_wiring.hpp"
#include "gateway/fleet/fleet.hpp"
#include "gateway/observability/dg_metrics.hpp"
#include "gateway/observability/metrics.hpp"

using namespace dg::gateway;

namespace {

/// The value of an unlabelled series in a Prometheus text, or -1.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("metrics wiring: fleet refusals are dg_fleet_rejected_total, apart from the fleet's errors",
          "[unit][fleet][metrics]") {
  metrics::Registry r;
  DgMetrics m(r);
  fleet::FleetStats stats;
  std::atomic<std::uint64_t> rejected{0};
  const auto id = publish_fleet_counters(m, stats, rejected);
  CHECK(sample(m.render_prometheus(), "dg_fleet_rejected_total") == 0);
  rejected = 3;
  stats.errors = 1;
  const auto text = m.render_prometheus();
  CHECK(sample(text, "dg_fleet_rejected_total") == 3);
  CHECK(sample(text, "dg_fleet_errors_total") == 1);
  CHECK(text.find("# TYPE dg_fleet_rejected_total counter") != std::string::npos);
  r.remove_callback(id);
}
