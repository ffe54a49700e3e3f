#pragma once
/// The whole product assembled from one config, for `distillguard --config`
/// and for in-process integration tests: the detection engine (`detection:`),
/// the campaign linker (`campaigns:`), enforcement (policy, decisions, admin
/// API), observability (alerts, /metrics) and the proxy.
///
///   auto app = App::create(cfg, now);   // throws config::ConfigError / std::runtime_error
///   app->start();                       // alerts, linker timer, proxy, then admin listener
///   ...
///   app->stop();                        // proxy drains first; then campaigns, enforcement, alerts
///
/// The hooks chain per exchange: campaign linker record -> metrics -> enforcer
/// (engine observe + policy). The proxy analyzes each prompt itself, so the
/// enforcer's fallback analysis is off.

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "detectors/engine.hpp"
#include "gateway/control/campaign_runtime.hpp"
#include "gateway/app/enforcement.hpp"
#include "gateway/app/observability_setup.hpp"
#include "gateway/fleet/fleet.hpp"
#include "gateway/http/proxy_server.hpp"

namespace dg::gateway {

/// Validates every section of a loaded config without starting anything
/// (`distillguard check-config`): detection, campaigns, policy, admin, alerts.
/// Throws config::ConfigError (`file:line:column: reason`).
void validate_config(const config::Config& cfg);

class App {
 public:
  static std::unique_ptr<App> create(const config::Config& cfg, double now);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Starts everything; returns the proxy port. Throws std::runtime_error.
  std::uint16_t start();
  /// Graceful stop in dependency order. Idempotent.
  void stop();

  /// SIGUSR1: the audit log and the capture log are reopened by path (after
  /// an external rotation). Thread-safe; the capture's writer thread reopens it.
  void reopen_logs();

  detectors::Engine& engine() { return *engine_; }
  CampaignRuntime& campaigns() { return *campaigns_; }
  Enforcement& enforcement() { return *enforcement_; }
  Observability& observability() { return *obs_; }
  ProxyServer& server() { return *server_; }
  /// Fleet mode (`state.backend: redis`), or null.
  fleet::Fleet* fleet() { return fleet_.get(); }
  /// The admin listener's port (0 when the admin API is off).
  std::uint16_t admin_port() const;

 private:
  App() = default;
  // Declaration order = reverse destruction order: the proxy goes first.
  std::unique_ptr<detectors::Engine> engine_;
  std::unique_ptr<CampaignRuntime> campaigns_;
  std::unique_ptr<Enforcement> enforcement_;
  std::unique_ptr<fleet::Fleet> fleet_;  // Redis I/O on the enforcement's control loop
  std::unique_ptr<Observability> obs_;
  std::unique_ptr<ProxyServer> server_;
  bool started_ = false;
};

}  // namespace dg::gateway
