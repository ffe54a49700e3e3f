#pragma once
/// Wiring of the other modules' counters into DgMetrics, and the /metrics
/// route of the admin listener. Each `publish_*` registers a scrape callback
/// (returns its id; remove it with `registry.remove_callback` before the
/// source goes away) that mirrors counters the module keeps itself, so the
/// modules' hot paths keep their own atomics and never see the registry.
///
///   DgMetrics& m = default_metrics();
///   publish_proxy_stats(m, server.stats());
///   publish_decision_gauges(m, store.table(), clock);
///   publish_reloader_counters(m, reloader);
///   register_metrics_route(admin, m);
///   InstrumentedDetection detection(engine_source, m);               // findings (instrumented_hooks.hpp)
///   Enforcer enforcer(policy, store, &detection);
///   auto hooks = std::make_shared<InstrumentedHooks>(enforcer, m, &alerter);

#include <atomic>
#include <cstdint>
#include <functional>

#include "gateway/observability/access_log.hpp"
#include "gateway/observability/dg_metrics.hpp"

namespace dg::gateway {

class AdminServer;
class DecisionStore;
class DecisionTable;
class PolicyReloader;
struct ProxyStats;
namespace fleet {
struct FleetStats;
struct CounterSyncStats;
}

/// dg_upstream_errors_total{kind="timeout"|"other"} and
/// dg_capture_dropped_total{reason="queue_full"} from the proxy's counters;
/// `capture_write_failures` (optional) gives dg_capture_dropped_total{reason="write_failed"}.
std::uint64_t publish_proxy_stats(DgMetrics& m, const ProxyStats& stats,
                                  std::function<std::uint64_t()> capture_write_failures = {});

/// dg_client_bytes_total, dg_proxy_events_total, dg_client_connections_active
/// and dg_upstream_connections_total from the proxy's data-path counters.
std::uint64_t publish_proxy_traffic(DgMetrics& m, const ProxyStats& stats);

/// dg_journal_failures_total and dg_audit_failures_total from the decision store.
std::uint64_t publish_store_counters(DgMetrics& m, const DecisionStore& store);

/// dg_active_decisions{action} from the decisions in force at `clock()` (Unix s).
/// Every action has a series (0 when none), so dashboards show flat lines, not gaps.
std::uint64_t publish_decision_gauges(DgMetrics& m, const DecisionTable& table, std::function<double()> clock);

/// dg_fleet_* from fleet mode's counters (gateway/fleet/fleet.hpp) and the
/// enforcer's refusals while the fleet's state is unreachable (`rejected`,
/// EnforcerStats::fleet_rejected).
std::uint64_t publish_fleet_counters(DgMetrics& m, const fleet::FleetStats& stats,
                                     const fleet::CounterSyncStats& counters, std::function<std::size_t()> counter_keys,
                                     const std::atomic<std::uint64_t>& rejected);

/// dg_config_reloads_total{result} from the policy reloader.
std::uint64_t publish_reloader_counters(DgMetrics& m, const PolicyReloader& reloader);

/// GET /metrics on the admin listener: text format 0.0.4. Bearer-protected
/// like every admin route unless `is_public` (for scrapers that cannot send a
/// token; the exposition holds no keys, fingerprints or prompt text).
void register_metrics_route(AdminServer& server, DgMetrics& m, bool is_public = false);

}  // namespace dg::gateway
