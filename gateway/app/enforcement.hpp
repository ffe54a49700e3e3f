#pragma once
/// Enforcement assembled from the main config, for `distillguard --config`:
/// policy (hot-reloaded), decision store (journal + audit), enforcer (the
/// proxy hooks) and the admin API, running on one background thread.
///
///   auto enforcement = Enforcement::create(cfg, &engine, now);   // throws ConfigError
///   enforcement->admin()->add_route(GET, "/metrics", ...);       // optional, before start
///   ProxyServer server(cfg, enforcement->hooks());
///   enforcement->start(); server.start(); ... server.stop(); enforcement->stop();
///
/// Lifetime: the Enforcement must outlive the ProxyServer using its hooks.

#include <boost/asio/io_context.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "config/admin_config.hpp"
#include "config/config.hpp"
#include "detectors/engine.hpp"
#include "detectors/policy_engine.hpp"
#include "gateway/admin/admin_routes.hpp"
#include "gateway/admin/admin_server.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/enforce/engine_assessment_source.hpp"
#include "gateway/control/policy_reloader.hpp"

namespace dg::gateway {

class Enforcement {
 public:
  /// Reads the `policy` and `admin` sections, loads the decision journal
  /// (and, with an inline policy, reloads the `detection` section with it)
  /// (skipped lines are logged as warnings with file:line). `engine` may be
  /// null (operator decisions only). Throws config::ConfigError on an invalid
  /// policy or admin section, std::runtime_error when the journal cannot be written.
  /// `campaigns` (optional) serves GET /v1/campaigns on the admin API.
  static std::unique_ptr<Enforcement> create(const config::Config& cfg, detectors::Engine* engine, double now,
                                             std::function<boost::json::value()> campaigns = {});

  ~Enforcement();

  /// Validates the `policy` and `admin` sections of a loaded config without
  /// starting anything (`distillguard check-config`). Throws config::ConfigError.
  static void validate(const config::Config& cfg);

  /// The proxy hooks (non-owning: valid while this object lives).
  std::shared_ptr<ProxyHooks> hooks();
  /// The admin server, or null when the admin section is absent/disabled.
  AdminServer* admin() { return admin_.get(); }

  /// Starts policy polling, SIGHUP handling, the admin listener and a
  /// periodic sweep of long-expired decisions. Throws std::runtime_error
  /// when the admin listener cannot bind.
  void start();
  void stop();

  /// Runs `task` every `period` on the control thread (the one that runs the
  /// admin API, reloads and sweeps) from start() to stop(). Call before start().
  void every(std::chrono::milliseconds period, std::function<void()> task);

  detectors::PolicyEngine& policy() { return policy_; }
  DecisionStore& store() { return *store_; }
  Enforcer& enforcer() { return *enforcer_; }
  PolicyReloader& reloader() { return *reloader_; }
  /// The control-plane loop (admin API, reloads, sweeps, fleet mode's Redis I/O).
  boost::asio::io_context& control_loop() { return ioc_; }

 private:
  Enforcement() = default;
  void schedule_sweep();

  boost::asio::io_context ioc_;
  detectors::PolicyEngine policy_{nullptr};
  config::AdminConfig admin_cfg_;
  std::unique_ptr<DecisionStore> store_;
  std::unique_ptr<EngineAssessmentSource> source_;
  std::unique_ptr<Enforcer> enforcer_;
  std::unique_ptr<PolicyReloader> reloader_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<boost::asio::steady_timer> sweep_timer_;
  struct Periodic {
    std::chrono::milliseconds period;
    std::function<void()> task;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  std::vector<std::unique_ptr<Periodic>> periodic_;
  void schedule(Periodic& p);
  std::thread thread_;
};

}  // namespace dg::gateway
