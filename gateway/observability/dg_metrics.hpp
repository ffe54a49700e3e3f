#pragma once
/// Every DistillGuard metric family, defined in one place (names, help, label
/// sets, buckets). The proxy, the detection glue, the policy/decision code,
/// the alert dispatcher and config reload all count into one DgMetrics.
///
///   dg_requests_total{route,status,action}        counter    action: see kActionNames
///   dg_added_latency_seconds                      histogram  time DistillGuard adds (gate + relay overhead)
///   dg_upstream_latency_seconds                   histogram  upstream time to response headers
///   dg_upstream_errors_total{kind}                counter    connect | timeout | reset | protocol | status_5xx
///   dg_detector_findings_total{detector}          counter
///   dg_active_decisions{action}                   gauge      throttle | degrade | block | shadow
///   dg_keys_tracked / dg_campaigns_tracked        gauge
///   dg_key_evictions_total{reason}                counter    idle | cap
///   dg_alerts_enqueued_total{event}               counter
///   dg_alerts_grouped_total                       counter    suppressed by the grouping window
///   dg_alert_queue_overflow_total                 counter    dropped because the queue was full
///   dg_alert_queue_depth                          gauge
///   dg_alert_deliveries_total{sink}               counter    delivered (2xx)
///   dg_alert_retries_total{sink}                  counter    attempts after the first
///   dg_alert_failures_total{sink,reason}          counter    given up: retries_exhausted | rejected | shutdown
///   dg_alert_dead_lettered_total{sink}            counter    written to the dead-letter file
///   dg_config_reloads_total{result}               counter    ok | failed
///   dg_build_info{version,commit}                 gauge      always 1
///   process_* (resident/virtual memory, cpu seconds, open/max fds, start time): process_metrics.hpp
///   dg_journal_failures_total                     counter    decision changes the journal could not persist
///   dg_audit_failures_total                       counter    audit lines that could not be written
///   dg_capture_dropped_total{reason}              counter    queue_full | write_failed
///   dg_log_reopens_total                          counter    SIGUSR1 reopens of the log files
///   dg_client_bytes_total{direction}              counter    in: request bodies; out: responses (heads, bodies, framing)
///   dg_proxy_events_total{event}                  counter    client_abort | hook_error | budget_cutoff | non_json_body |
///                                                            head_refused | large_body (degraded or notable data-path events)
///   dg_client_connections_active                  gauge
///   dg_upstream_connections_total{kind}           counter    new | reused (requests sent on a pooled connection)
///   dg_fleet_connected                            gauge      1 while subscribed to Redis with the current set loaded
///   dg_fleet_commands_total / dg_fleet_errors_total / dg_fleet_reconnects_total   counters (fleet mode, docs/fleet.md)
///   dg_fleet_decisions_total{event}               counter    published | superseded | received
///   dg_fleet_pending_decisions                    gauge      local decisions not yet written to Redis
///   dg_fleet_rejected_total                       counter    503 answers while Redis is unreachable (state.fail: closed)
///   dg_fleet_counter_flushes_total / _windows_total / _errors_total   counters  shared throttle and budget counters
///   dg_fleet_counter_keys                         gauge      keys with shared counters on this instance
///
/// Thread-safety: every member may be used from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "detectors/features.hpp"
#include "gateway/observability/metrics.hpp"

namespace dg::gateway {

class DgMetrics {
 public:
  /// Registers the families in `registry` (which must outlive this object).
  explicit DgMetrics(metrics::Registry& registry);
  DgMetrics(const DgMetrics&) = delete;
  DgMetrics& operator=(const DgMetrics&) = delete;

  /// The action label values; anything else is counted as "other" (bounded cardinality).
  static constexpr std::array<std::string_view, 10> kActionNames = {
      "allow", "shadow", "throttle", "degrade", "block", "budget", "fail_closed", "unauthenticated", "error", "other"};
  /// Index of `action` in kActionNames ("other" when unknown).
  static int action_index(std::string_view action) noexcept;

  /// Counts one finished request. Lock-free and allocation-free after the
  /// first request of each (route, status, action) combination for common
  /// statuses; other statuses take the family lookup (shared lock, no allocation).
  void count_request(detectors::Endpoint route, int status, std::string_view action) {
    count_request(route, status, static_cast<std::size_t>(action_index(action)));
  }
  /// The same by index in kActionNames (the proxy's GateAction is that index).
  void count_request(detectors::Endpoint route, int status, std::size_t action);

  /// Latencies in seconds.
  void observe_added_latency(double seconds) noexcept { added_latency.observe(seconds); }
  void observe_upstream_latency(double seconds) noexcept { upstream_latency.observe(seconds); }

  metrics::Registry& registry;

  metrics::CounterFamily& requests;
  metrics::Histogram& added_latency;
  metrics::Histogram& upstream_latency;
  metrics::CounterFamily& upstream_errors;       ///< {kind}
  metrics::CounterFamily& detector_findings;     ///< {detector}
  metrics::GaugeFamily& active_decisions;        ///< {action}
  metrics::Gauge& keys_tracked;
  metrics::Gauge& campaigns_tracked;
  metrics::CounterFamily& key_evictions;         ///< {reason}

  metrics::CounterFamily& alerts_enqueued;       ///< {event}
  metrics::Counter& alerts_grouped;
  metrics::Counter& alert_queue_overflow;
  metrics::Gauge& alert_queue_depth;
  metrics::CounterFamily& alert_deliveries;      ///< {sink}
  metrics::CounterFamily& alert_retries;         ///< {sink}
  metrics::CounterFamily& alert_failures;        ///< {sink,reason}
  metrics::CounterFamily& alert_dead_lettered;   ///< {sink}

  metrics::CounterFamily& config_reloads;        ///< {result}
  metrics::Counter& config_reloads_ok;
  metrics::Counter& config_reloads_failed;

  metrics::GaugeFamily& build_info;              ///< {version,commit}, one series at 1
  metrics::Gauge& process_resident_memory_bytes;  ///< set at scrape (process_metrics.hpp)
  metrics::Gauge& process_virtual_memory_bytes;
  metrics::Gauge& process_cpu_seconds_total;
  metrics::Gauge& process_open_fds;
  metrics::Gauge& process_max_fds;
  metrics::Gauge& process_start_time_seconds;
  metrics::Counter& journal_failures;
  metrics::Counter& audit_failures;
  metrics::CounterFamily& capture_dropped;       ///< {reason}
  metrics::Counter& log_reopens;
  metrics::CounterFamily& client_bytes;          ///< {direction}
  metrics::CounterFamily& proxy_events;          ///< {event}
  metrics::Gauge& client_connections_active;
  metrics::CounterFamily& upstream_connections;  ///< {kind}
  metrics::Gauge& fleet_connected;
  metrics::Counter& fleet_commands;
  metrics::Counter& fleet_errors;
  metrics::Counter& fleet_reconnects;
  metrics::CounterFamily& fleet_decisions;       ///< {event}
  metrics::Gauge& fleet_pending;
  metrics::Counter& fleet_rejected;
  metrics::Counter& fleet_counter_flushes;
  metrics::Counter& fleet_counter_windows;
  metrics::Counter& fleet_counter_errors;
  metrics::Gauge& fleet_counter_keys;

  /// The `/metrics` body and content type, for the admin server's route map.
  std::string render_prometheus() const { return registry.render_prometheus(); }
  static constexpr std::string_view content_type() noexcept { return metrics::kPrometheusContentType; }

 private:
  static constexpr std::array<int, 16> kStatuses = {200, 201, 204, 400, 401, 403, 404, 408,
                                                    413, 422, 429, 499, 500, 502, 503, 504};
  static constexpr std::size_t kRoutes = 7;   // detectors::Endpoint values
  static constexpr std::size_t kActions = kActionNames.size();
  std::array<std::atomic<metrics::Counter*>, kRoutes * kActions * kStatuses.size()> request_slots_{};
};

/// A process-wide registry and DgMetrics for code that has no better place to
/// get them from (the proxy executable). Tests create their own.
metrics::Registry& default_registry();
DgMetrics& default_metrics();

/// Scrape-time values a component publishes: pass a callback to
/// `registry.on_scrape` that sets e.g. `m.keys_tracked.set(engine.stats().keys_tracked)`.
/// This helper wires the engine's counters in one call.
struct EngineGaugeSource {
  std::uint64_t keys_tracked = 0;
  std::uint64_t campaigns_tracked = 0;
  std::uint64_t evicted_idle = 0;
  std::uint64_t evicted_cap = 0;
};
/// Registers a callback that reads `source()` at every scrape and mirrors it
/// into keys_tracked, campaigns_tracked and key_evictions. Returns the callback id.
std::uint64_t publish_engine_gauges(DgMetrics& m, std::function<EngineGaugeSource()> source);

}  // namespace dg::gateway
