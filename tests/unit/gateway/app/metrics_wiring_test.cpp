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
  fleet::CounterSyncStats counter_stats;
  std::atomic<std::uint64_t> rejected{0};
  const auto id = publish_fleet_counters(m, stats, counter_stats, [] { return std::size_t{0}; }, rejected);
  CHECK(sample(m.render_prometheus(), "dg_fleet_rejected_total") == 0);
  rejected = 3;
  stats.errors = 1;
  const auto text = m.render_prometheus();
  CHECK(sample(text, "dg_fleet_rejected_total") == 3);
  CHECK(sample(text, "dg_fleet_errors_total") == 1);
  CHECK(text.find("# TYPE dg_fleet_rejected_total counter") != std::string::npos);
  r.remove_callback(id);
}

TEST_CASE("metrics wiring: shared counter flushes and windows and errors and keys are dg_fleet_counter_*",
          "[unit][fleet][metrics]") {
  metrics::Registry r;
  DgMetrics m(r);
  fleet::FleetStats stats;
  fleet::CounterSyncStats counter_stats;
  std::atomic<std::uint64_t> rejected{0};
  std::size_t keys = 0;
  const auto id = publish_fleet_counters(m, stats, counter_stats, [&keys] { return keys; }, rejected);
  counter_stats.flushes = 7;
  counter_stats.windows = 12;
  counter_stats.errors = 2;
  keys = 4;
  const auto text = m.render_prometheus();
  CHECK(sample(text, "dg_fleet_counter_flushes_total") == 7);
  CHECK(sample(text, "dg_fleet_counter_windows_total") == 12);
  CHECK(sample(text, "dg_fleet_counter_errors_total") == 2);
  CHECK(sample(text, "dg_fleet_counter_keys") == 4);
  r.remove_callback(id);
}
