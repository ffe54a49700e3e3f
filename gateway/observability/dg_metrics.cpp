#include "gateway/observability/dg_metrics.hpp"

#include <string>

#include "gateway/observability/build_info.hpp"

namespace dg::gateway {

namespace {

using metrics::exponential_buckets;

// 0.1 ms .. ~3.3 s: what DistillGuard adds should sit in the first buckets.
std::vector<double> added_latency_buckets() { return exponential_buckets(0.0001, 2, 16); }
// 5 ms .. ~164 s: upstream LLM latency to headers (long generations included).
std::vector<double> upstream_latency_buckets() { return exponential_buckets(0.005, 2, 16); }

}  // namespace

int DgMetrics::action_index(std::string_view action) noexcept {
  for (std::size_t i = 0; i < kActionNames.size(); ++i)
    if (kActionNames[i] == action) return static_cast<int>(i);
  return static_cast<int>(kActionNames.size()) - 1;  // "other"
}

DgMetrics::DgMetrics(metrics::Registry& r)
    : registry(r),
      requests(r.counter("dg_requests_total", "Requests answered, by route, HTTP status and enforcement action.",
                         {"route", "status", "action"})),
      added_latency(r.histogram("dg_added_latency_seconds",
                                "Latency DistillGuard adds to a request (gate, feature extraction, relay overhead).",
                                added_latency_buckets())
                        .with({})),
      upstream_latency(r.histogram("dg_upstream_latency_seconds",
                                   "Upstream latency from forwarding the request to its response headers.",
                                   upstream_latency_buckets())
                           .with({})),
      upstream_errors(r.counter("dg_upstream_errors_total", "Upstream failures by kind.", {"kind"})),
      detector_findings(r.counter("dg_detector_findings_total",
                                  "Findings raised (a detector crossing its threshold for a key), by detector.",
                                  {"detector"})),
      active_decisions(r.gauge("dg_active_decisions", "Decisions currently in force, by action.", {"action"})),
      keys_tracked(r.gauge("dg_keys_tracked", "API keys with detector state in memory.").with({})),
      campaigns_tracked(r.gauge("dg_campaigns_tracked", "Campaigns (linked key groups) currently tracked.").with({})),
      key_evictions(r.counter("dg_key_evictions_total", "Keys evicted from detector state, by reason.", {"reason"})),
      alerts_enqueued(r.counter("dg_alerts_enqueued_total", "Alerts accepted into the alert queue, by event.",
                                {"event"})),
      alerts_grouped(r.counter("dg_alerts_grouped_total",
                               "Alerts not sent because the same key or campaign paged within the grouping window.")
                         .with({})),
      alert_queue_overflow(
          r.counter("dg_alert_queue_overflow_total", "Alerts dropped because the alert queue was full.").with({})),
      alert_queue_depth(r.gauge("dg_alert_queue_depth", "Alerts waiting in the queue.").with({})),
      alert_deliveries(r.counter("dg_alert_deliveries_total", "Alerts delivered (2xx), by sink.", {"sink"})),
      alert_retries(r.counter("dg_alert_retries_total", "Delivery attempts after the first, by sink.", {"sink"})),
      alert_failures(r.counter("dg_alert_failures_total",
                               "Alerts given up on, by sink and reason (retries_exhausted, rejected, shutdown).",
                               {"sink", "reason"})),
      alert_dead_lettered(r.counter("dg_alert_dead_lettered_total",
                                    "Alerts written to the dead-letter file, by sink.", {"sink"})),
      config_reloads(r.counter("dg_config_reloads_total", "Configuration reloads, by result.", {"result"})),
      config_reloads_ok(config_reloads.with({"ok"})),
      config_reloads_failed(config_reloads.with({"failed"})),
      build_info(r.gauge("dg_build_info", "The running build: version and git commit (value always 1).",
                         {"version", "commit"})),
      process_resident_memory_bytes(
          r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").with({})),
      process_virtual_memory_bytes(r.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").with({})),
      process_cpu_seconds_total(
          r.float_counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").with({})),
      process_open_fds(r.gauge("process_open_fds", "Number of open file descriptors.").with({})),
      process_max_fds(r.gauge("process_max_fds", "Maximum number of open file descriptors.").with({})),
      process_start_time_seconds(
          r.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").with({})),
      journal_failures(r.counter("dg_journal_failures_total",
                                 "Decision changes the journal could not persist (kept in memory only).")
                           .with({})),
      audit_failures(r.counter("dg_audit_failures_total", "Audit log lines that could not be written.").with({})),
      capture_dropped(r.counter("dg_capture_dropped_total",
                                "Capture records lost, by reason (queue_full, write_failed).", {"reason"})),
      log_reopens(r.counter("dg_log_reopens_total", "Reopens of the log files (SIGUSR1).").with({})),
      client_bytes(r.counter("dg_client_bytes_total",
                             "Bytes exchanged with clients: in = request bodies, out = responses (heads, bodies, framing).",
                             {"direction"})),
      proxy_events(r.counter("dg_proxy_events_total",
                             "Data-path events: client_abort, hook_error (served fail-open), budget_cutoff, "
                             "non_json_body, head_refused, large_body, key_refused_on_head (a blocked or rate-limited key "
                             "answered before its body was read).",
                             {"event"})),
      client_connections_active(r.gauge("dg_client_connections_active", "Client connections open now.").with({})),
      upstream_connections(r.counter("dg_upstream_connections_total",
                                     "Requests sent upstream on a new (new) or pooled (reused) connection.", {"kind"})),
      fleet_connected(r.gauge("dg_fleet_connected",
                              "1 while fleet mode is subscribed to Redis with the current decisions loaded.")
                          .with({})),
      fleet_commands(r.counter("dg_fleet_commands_total", "Redis commands sent by fleet mode.").with({})),
      fleet_errors(r.counter("dg_fleet_errors_total",
                             "Fleet mode failures: connects, lost connections, error replies, unreadable messages.")
                       .with({})),
      fleet_reconnects(r.counter("dg_fleet_reconnects_total", "Fleet sessions re-established after a loss.").with({})),
      fleet_decisions(r.counter("dg_fleet_decisions_total",
                                "Decisions shared through Redis: published (written), superseded (Redis had a newer "
                                "one), received (another instance's, applied here).",
                                {"event"})),
      fleet_pending(r.gauge("dg_fleet_pending_decisions", "Local decisions not yet written to Redis.").with({})),
      fleet_rejected(r.counter("dg_fleet_rejected_total",
                               "Keyed requests refused (503) because Redis was unreachable and state.fail is closed.")
                         .with({})),
      fleet_counter_flushes(r.counter("dg_fleet_counter_flushes_total",
                                      "Shared throttle and budget counter flushes Redis answered.")
                                .with({})),
      fleet_counter_windows(r.counter("dg_fleet_counter_windows_total",
                                      "Counter windows sent to Redis (this instance's counts and reads of the others').")
                                .with({})),
      fleet_counter_errors(r.counter("dg_fleet_counter_errors_total",
                                     "Counter batches Redis answered with an error (their counts are sent again).")
                               .with({})),
      fleet_counter_keys(r.gauge("dg_fleet_counter_keys", "Keys with shared throttle or budget counters here.").with({})) {
  build_info.with({build_version(), build_commit()}).set(1);
}

void DgMetrics::count_request(detectors::Endpoint route, int status, std::size_t a) {
  const auto r = static_cast<std::size_t>(route);
  if (a >= kActionNames.size()) a = kActionNames.size() - 1;  // "other"
  const std::string_view action = kActionNames[a];
  int s = -1;
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) s = static_cast<int>(i);
  if (r >= kRoutes || s < 0) {
    // Rare combination: the family lookup (shared lock, no allocation once the series exists).
    requests.with({detectors::to_string(route), std::to_string(status), action}).inc();
    return;
  }
  auto& slot = request_slots_[(r * kActions + a) * kStatuses.size() +
                              static_cast<std::size_t>(s)];
  auto* c = slot.load(std::memory_order_acquire);
  if (!c) {
    c = &requests.with({detectors::to_string(route), std::to_string(status), action});
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

metrics::Registry& default_registry() {
  static metrics::Registry registry;
  return registry;
}

DgMetrics& default_metrics() {
  static DgMetrics m(default_registry());
  return m;
}

std::uint64_t publish_engine_gauges(DgMetrics& m, std::function<EngineGaugeSource()> source) {
  auto& idle = m.key_evictions.with({"idle"});
  auto& cap = m.key_evictions.with({"cap"});
  return m.registry.on_scrape([&m, &idle, &cap, source = std::move(source)] {
    auto s = source();
    m.keys_tracked.set(static_cast<double>(s.keys_tracked));
    m.campaigns_tracked.set(static_cast<double>(s.campaigns_tracked));
    idle.set(s.evicted_idle);
    cap.set(s.evicted_cap);
  });
}

}  // namespace dg::gateway
