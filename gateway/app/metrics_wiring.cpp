#include "gateway/app/metrics_wiring.hpp"

#include <array>

#include "detectors/decision.hpp"
#include "gateway/admin/admin_server.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/decisions/decision_table.hpp"
#include "gateway/control/policy_reloader.hpp"
#include "gateway/fleet/fleet.hpp"
#include "gateway/http/proxy_stats.hpp"

namespace dg::gateway {

std::uint64_t publish_proxy_stats(DgMetrics& m, const ProxyStats& stats,
                                  std::function<std::uint64_t()> capture_write_failures) {
  auto& timeout = m.upstream_errors.with({"timeout"});
  auto& other = m.upstream_errors.with({"other"});
  auto& queue_full = m.capture_dropped.with({"queue_full"});
  auto& write_failed = m.capture_dropped.with({"write_failed"});
  return m.registry.on_scrape([&stats, &timeout, &other, &queue_full, &write_failed,
                               failures = std::move(capture_write_failures)] {
    const auto errors = stats.upstream_errors.load(std::memory_order_relaxed);
    const auto timeouts = stats.upstream_timeouts.load(std::memory_order_relaxed);
    timeout.set(timeouts);
    other.set(errors >= timeouts ? errors - timeouts : 0);
    queue_full.set(stats.capture_dropped.load(std::memory_order_relaxed));
    write_failed.set(failures ? failures() : 0);
  });
}

std::uint64_t publish_proxy_traffic(DgMetrics& m, const ProxyStats& stats) {
  using Counter = ProxyStats::Counter;
  struct Mirror {
    metrics::Counter* series;
    const Counter* source;
  };
  const std::array<Mirror, 11> mirrors = {{
      {&m.client_bytes.with({"in"}), &stats.bytes_from_clients},
      {&m.client_bytes.with({"out"}), &stats.bytes_to_clients},
      {&m.proxy_events.with({"client_abort"}), &stats.client_aborts},
      {&m.proxy_events.with({"hook_error"}), &stats.hook_errors},
      {&m.proxy_events.with({"budget_cutoff"}), &stats.budget_cutoffs},
      {&m.proxy_events.with({"non_json_body"}), &stats.non_json_bodies},
      {&m.proxy_events.with({"head_refused"}), &stats.head_refused},
      {&m.proxy_events.with({"large_body"}), &stats.large_bodies},
      {&m.proxy_events.with({"key_refused_on_head"}), &stats.key_refused_on_head},
      {&m.upstream_connections.with({"new"}), &stats.upstream_connects},
      {&m.upstream_connections.with({"reused"}), &stats.upstream_reused},
  }};
  return m.registry.on_scrape([&m, &stats, mirrors] {
    for (const auto& [series, source] : mirrors) series->set(source->load(std::memory_order_relaxed));
    m.client_connections_active.set(static_cast<double>(stats.connections_active.load(std::memory_order_relaxed)));
  });
}

std::uint64_t publish_store_counters(DgMetrics& m, const DecisionStore& store) {
  return m.registry.on_scrape([&m, &store] {
    m.journal_failures.set(store.journal_failures());
    m.audit_failures.set(store.audit_failures());
  });
}

std::uint64_t publish_decision_gauges(DgMetrics& m, const DecisionTable& table, std::function<double()> clock) {
  using detectors::Action;
  static constexpr std::array<Action, 4> kActions = {Action::Shadow, Action::Throttle, Action::Degrade, Action::Block};
  std::array<metrics::Gauge*, 4> gauges{};
  for (std::size_t i = 0; i < kActions.size(); ++i)
    gauges[i] = &m.active_decisions.with({detectors::to_string(kActions[i])});
  return m.registry.on_scrape([&table, gauges, clock = std::move(clock)] {
    std::array<double, 4> counts{};
    for (const auto& d : table.active_all(clock())) {
      for (std::size_t i = 0; i < kActions.size(); ++i)
        if (d.action == kActions[i]) counts[i] += 1;
    }
    for (std::size_t i = 0; i < kActions.size(); ++i) gauges[i]->set(counts[i]);
  });
}

std::uint64_t publish_fleet_counters(DgMetrics& m, const fleet::FleetStats& stats,
                                     const fleet::CounterSyncStats& counters, std::function<std::size_t()> counter_keys,
                                     const std::atomic<std::uint64_t>& rejected) {
  auto& published = m.fleet_decisions.with({"published"});
  auto& superseded = m.fleet_decisions.with({"superseded"});
  auto& received = m.fleet_decisions.with({"received"});
  return m.registry.on_scrape([&m, &stats, &counters, counter_keys = std::move(counter_keys), &rejected, &published,
                               &superseded, &received] {
    constexpr auto r = std::memory_order_relaxed;
    m.fleet_connected.set(stats.connected.load(r) ? 1 : 0);
    m.fleet_commands.set(stats.commands.load(r));
    m.fleet_errors.set(stats.errors.load(r));
    m.fleet_reconnects.set(stats.reconnects.load(r));
    published.set(stats.published.load(r));
    superseded.set(stats.superseded.load(r));
    received.set(stats.received.load(r));
    m.fleet_pending.set(static_cast<double>(stats.pending.load(r)));
    m.fleet_rejected.set(rejected.load(r));
    m.fleet_counter_flushes.set(counters.flushes.load(r));
    m.fleet_counter_windows.set(counters.windows.load(r));
    m.fleet_counter_errors.set(counters.errors.load(r));
    m.fleet_counter_keys.set(static_cast<double>(counter_keys()));
  });
}

std::uint64_t publish_reloader_counters(DgMetrics& m, const PolicyReloader& reloader) {
  return m.registry.on_scrape([&m, &reloader] {
    m.config_reloads_ok.set(reloader.reloads_ok());
    m.config_reloads_failed.set(reloader.reloads_failed());
  });
}

void register_metrics_route(AdminServer& server, DgMetrics& m, bool is_public) {
  server.add_route(
      boost::beast::http::verb::get, "/metrics",
      [&m](const AdminRequest&) {
        AdminResponse res;
        res.body = m.render_prometheus();
        res.content_type = std::string(DgMetrics::content_type());
        return res;
      },
      is_public);
}


}  // namespace dg::gateway
