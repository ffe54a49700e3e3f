#pragma once
/// Metrics and alerts assembled around an Enforcement, for `distillguard
/// --config`: reads the `alerts` section, starts the alert dispatcher, turns
/// decision changes into alerts, publishes decision/reload/engine/proxy
/// counters at scrape time and adds GET /metrics to the admin listener.
///
///   auto enforcement = Enforcement::create(cfg, &engine, now);
///   auto obs = Observability::create(cfg, *enforcement, &engine);   // before enforcement->start()
///   ProxyServer server(cfg, obs->hooks());                          // counts requests, then enforces
///   obs->attach_proxy(server);
///   obs->start(); enforcement->start(); server.start();
///   ...
///   server.stop(); enforcement->stop(); obs->stop();                 // flushes alerts (flush_timeout_seconds)
///
/// Lifetime: outlives the ProxyServer; the Enforcement outlives it.

#include <atomic>
#include <memory>

#include "config/alerts_config.hpp"
#include "config/config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/engine.hpp"
#include "gateway/alerts/alert_dispatcher.hpp"
#include "gateway/alerts/decision_alerts.hpp"
#include "gateway/observability/dg_metrics.hpp"
#include "gateway/app/enforcement.hpp"
#include "gateway/fleet/fleet.hpp"
#include "gateway/app/instrumented_hooks.hpp"
#include "gateway/http/proxy_server.hpp"

namespace dg::gateway {

class Observability {
 public:
  /// Throws config::ConfigError on an invalid `alerts` section. `engine` may be null.
  /// `metrics` defaults to default_metrics().
  static std::unique_ptr<Observability> create(const config::Config& cfg, Enforcement& enforcement,
                                               detectors::Engine* engine, DgMetrics* metrics = nullptr);
  ~Observability();

  /// The proxy hooks: InstrumentedHooks around the enforcement's hooks.
  std::shared_ptr<ProxyHooks> hooks() { return hooks_; }
  /// Publishes the proxy's own counters (upstream errors).
  void attach_proxy(const ProxyServer& server);
  /// dg_fleet_* on /metrics (fleet mode); `rejected`: the enforcer's
  /// EnforcerStats::fleet_rejected.
  void attach_fleet(fleet::Fleet& fleet, const std::atomic<std::uint64_t>& rejected);
  /// dg_campaigns_tracked reads this linker (before serving; it must outlive this object).
  void attach_campaigns(const detectors::CampaignLinker& linker) { linker_.store(&linker); }
  void start();
  /// Flushes queued alerts for up to the configured flush timeout.
  void stop();

  DgMetrics& metrics() { return metrics_; }
  AlertDispatcher& dispatcher() { return *dispatcher_; }

 private:
  explicit Observability(DgMetrics& m) : metrics_(m) {}
  DgMetrics& metrics_;
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<DecisionAlerter> alerter_;
  std::shared_ptr<ProxyHooks> hooks_;
  std::vector<std::uint64_t> callbacks_;
  std::atomic<const detectors::CampaignLinker*> linker_{nullptr};
};

}  // namespace dg::gateway
