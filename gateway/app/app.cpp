#include "gateway/app/app.hpp"

#include "config/alerts_config.hpp"
#include "config/campaign_config.hpp"
#include "config/detection_config.hpp"
#include "config/state_config.hpp"
#include "gateway/app/heap_trim.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace dg::gateway {

namespace {

double wall_clock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// `<hostname>-<pid>`: unique among the instances of one host and across hosts.
std::string default_instance_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::snprintf(host, sizeof host, "dg");
  return std::string(host) + "-" + std::to_string(::getpid());
}

}  // namespace

void validate_config(const config::Config& cfg) {
  (void)config::load_detection_config(cfg);
  (void)config::load_campaign_config(cfg);
  Enforcement::validate(cfg);  // policy and admin
  (void)config::load_alerts_config(cfg.alerts, cfg.path);
  (void)config::load_state_config(cfg);
}

std::unique_ptr<App> App::create(const config::Config& cfg, double now) {
  std::unique_ptr<App> app(new App());
  app->engine_ = std::make_unique<detectors::Engine>(config::load_detection_config(cfg));
  app->campaigns_ = std::make_unique<CampaignRuntime>(config::load_campaign_config(cfg), *app->engine_);
  auto* campaigns = app->campaigns_.get();
  // The campaign runtime is wired even when `campaigns.enabled` is false, so
  // that a reload can switch it on (GET /v1/campaigns then lists nothing).
  app->enforcement_ = Enforcement::create(cfg, app->engine_.get(), now, campaigns->admin_provider());
  // Inline policy: the reloader watches the main config, so `campaigns:`
  // reloads with the policy (as `detection:` does, see Enforcement::create).
  if (app->enforcement_->reloader().source().file == cfg.path)
    app->enforcement_->reloader().add_prepare(campaigns->reload_hook(cfg.path));
  // The proxy analyzes prompts itself (once per request): no second analysis in the enforcer.
  app->enforcement_->enforcer().set_analyze_prompts(false);
  app->obs_ = Observability::create(cfg, *app->enforcement_, app->engine_.get());
  if (const auto state = config::load_state_config(cfg); state.backend == config::StateBackend::Redis) {
    fleet::FleetOptions fo;
    fo.host = state.host;
    fo.port = state.port;
    fo.db = state.db;
    fo.password = state.password;
    fo.prefix = state.prefix;
    fo.instance = state.instance.empty() ? default_instance_id() : state.instance;
    app->fleet_ = std::make_unique<fleet::Fleet>(app->enforcement_->control_loop(), app->enforcement_->store(),
                                                 std::move(fo), wall_clock);
    app->fleet_->attach();
    app->enforcement_->enforcer().set_shared_counters(&app->fleet_->counters());
    if (state.fail == config::StateFailMode::Closed)
      app->enforcement_->enforcer().set_shared_state_gate(&app->fleet_->stats().connected);
    app->obs_->attach_fleet(*app->fleet_, app->enforcement_->enforcer().stats().fleet_rejected);
    spdlog::info("fleet mode: instance {}, Redis {}:{} db {}, prefix {}, fail {}", app->fleet_->instance(), state.host,
                 state.port, state.db, state.prefix, state.fail == config::StateFailMode::Closed ? "closed" : "open");
  }
  // The linker is the first step of the enforcer's exchange pipeline.
  app->enforcement_->enforcer().set_campaigns(&campaigns->stage());
  campaigns->attach(app->enforcement_->store());
  app->obs_->attach_campaigns(campaigns->linker());
  app->server_ = std::make_unique<ProxyServer>(cfg, app->obs_->hooks());
  app->server_->set_prompt_analyzer([engine = app->engine_.get()] { return engine->analyzer(); });
  app->obs_->attach_proxy(*app->server_);
  // After large request bodies the heap gives its free pages back to the
  // system (issue #12.12), from the control thread, never a worker.
  app->enforcement_->every(std::chrono::seconds(1), HeapTrimmer(app->server_->stats()));
  return app;
}

App::~App() { stop(); }

std::uint16_t App::start() {
  obs_->start();
  campaigns_->start();
  // The proxy's "distillguard listening on HOST:PORT" comes first (scripts
  // read the first "listening on"), then "admin API listening on HOST:PORT".
  // Requests served before the admin thread runs are enforced all the same:
  // the policy is loaded in create() and the enforcer decides inline.
  const auto port = server_->start();
  started_ = true;
  if (fleet_) fleet_->start();  // connects on the control loop; serving does not wait for it
  try {
    enforcement_->start();
  } catch (...) {
    stop();
    throw;
  }
  return port;
}

void App::stop() {
  if (!started_) return;
  started_ = false;
  // Stop order (observability_setup.hpp): the proxy drains first, while the
  // enforcement and alerts behind its hooks still run; alerts flush last.
  server_->stop();
  campaigns_->stop();
  enforcement_->stop();
  if (fleet_) fleet_->stop();  // the control loop is joined: its connections close here
  obs_->stop();
}

void App::reopen_logs() {
  if (!enforcement_->store().reopen_audit()) spdlog::warn("audit log: cannot reopen");
  server_->reopen_logs();
  obs_->metrics().log_reopens.inc();
}

std::uint16_t App::admin_port() const {
  auto* admin = enforcement_->admin();
  return admin ? admin->port() : 0;
}

}  // namespace dg::gateway
