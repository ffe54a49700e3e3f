#include "gateway/app/enforcement.hpp"

#include <spdlog/spdlog.h>

#include "config/detection_config.hpp"

#include <chrono>
#include <stdexcept>

namespace dg::gateway {

namespace {
double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::unique_ptr<Enforcement> Enforcement::create(const config::Config& cfg, detectors::Engine* engine, double now,
                                                 std::function<boost::json::value()> campaigns) {
  std::unique_ptr<Enforcement> e(new Enforcement());
  if (cfg.admin && !cfg.admin.IsNull()) {
    config::YamlSection section(cfg.admin, cfg.path, "admin");
    e->admin_cfg_ = config::parse_admin_config(section);
  }
  const auto source = config::locate_policy(cfg.path);
  e->reloader_ = std::make_unique<PolicyReloader>(e->ioc_, source, e->policy_);
  if (engine && source.file == cfg.path) {
    // Inline policy: the watched file is the main config, so its `detection`
    // section reloads with the policy (validated first; detector state kept).
    bool first = true;
    e->reloader_->add_prepare([engine, first, path = cfg.path](const YAML::Node& root) mutable -> std::function<void()> {
      const YAML::Node node = root["detection"];
      detectors::EngineConfig next;
      if (node.IsDefined() && !node.IsNull()) {
        config::YamlSection section(node, path, "detection");
        next = config::parse_detection_config(section);
      }
      if (first) {  // start-up: the engine was built from this very config
        first = false;
        return {};
      }
      return [engine, next = std::move(next)]() mutable { engine->reconfigure(std::move(next)); };
    });
  }
  e->reloader_->load_initial(now);

  DecisionStoreOptions so;
  so.journal.path = e->admin_cfg_.journal;
  so.journal.fsync = e->admin_cfg_.fsync == "never"      ? FsyncPolicy::Never
                     : e->admin_cfg_.fsync == "interval" ? FsyncPolicy::Interval
                                                          : FsyncPolicy::Always;
  so.journal.fsync_interval_s = e->admin_cfg_.fsync_interval_s;
  so.journal.compact_threshold_bytes = e->admin_cfg_.compact_threshold_bytes;
  so.audit_path = e->admin_cfg_.audit_log;
  so.memory_s = e->policy_.policy()->escalation.memory_s;
  e->store_ = std::make_unique<DecisionStore>(so);
  std::vector<std::string> warnings;
  std::string error;
  if (!e->store_->open(now, warnings, error)) throw std::runtime_error(error);
  for (const auto& w : warnings) spdlog::warn("decision journal: {}", w);
  if (so.journal.path.empty()) spdlog::warn("no decision journal configured (admin.decisions.journal): decisions are lost on restart");
  else spdlog::info("decision journal {}: {} decisions loaded", so.journal.path, e->store_->table().size());

  if (engine) e->source_ = std::make_unique<EngineAssessmentSource>(*engine);
  // One cap for every per-key structure: the detection store's (issue #12.8).
  const std::size_t max_keys =
      engine ? engine->config()->store.max_keys : config::load_detection_config(cfg).store.max_keys;
  e->enforcer_ = std::make_unique<Enforcer>(e->policy_, *e->store_, e->source_.get(), max_keys);

  if (e->admin_cfg_.enabled) {
    AdminOptions ao;
    ao.address = e->admin_cfg_.address;
    ao.port = e->admin_cfg_.port;
    ao.token = e->admin_cfg_.token;
    e->admin_ = std::make_unique<AdminServer>(e->ioc_, ao);
    AdminContext ctx;
    ctx.policy = &e->policy_;
    ctx.store = e->store_.get();
    ctx.reloader = e->reloader_.get();
    ctx.detection = e->source_.get();
    ctx.campaigns = std::move(campaigns);
    register_admin_routes(*e->admin_, ctx);
  }
  return e;
}

Enforcement::~Enforcement() { stop(); }

void Enforcement::validate(const config::Config& cfg) {
  if (cfg.admin && !cfg.admin.IsNull()) {
    config::YamlSection section(cfg.admin, cfg.path, "admin");
    config::parse_admin_config(section);
  }
  config::load_policy(config::locate_policy(cfg.path));
}

std::shared_ptr<ProxyHooks> Enforcement::hooks() {
  return std::shared_ptr<ProxyHooks>(enforcer_.get(), [](ProxyHooks*) {});
}

void Enforcement::start() {
  if (admin_) {
    std::string error;
    if (!admin_->start(error)) throw std::runtime_error(error);
  }
  reloader_->start(true);
  sweep_timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  schedule_sweep();
  for (auto& p : periodic_) {
    p->timer = std::make_unique<boost::asio::steady_timer>(ioc_);
    schedule(*p);
  }
  thread_ = std::thread([this] { ioc_.run(); });
}

void Enforcement::every(std::chrono::milliseconds period, std::function<void()> task) {
  periodic_.push_back(std::make_unique<Periodic>(Periodic{period, std::move(task), nullptr}));
}

void Enforcement::schedule(Periodic& p) {
  p.timer->expires_after(p.period);
  p.timer->async_wait([this, &p](boost::system::error_code ec) {
    if (ec) return;
    p.task();
    schedule(p);
  });
}

void Enforcement::schedule_sweep() {
  sweep_timer_->expires_after(std::chrono::minutes(1));
  sweep_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    store_->sweep(wall_now());
    schedule_sweep();
  });
}

void Enforcement::stop() {
  if (thread_.joinable()) {
    if (admin_) admin_->stop();
    reloader_->stop();
    ioc_.stop();
    thread_.join();
  }
  // The journal and audit writes of the last decisions (queued by workers).
  if (store_) store_->flush();
}

}  // namespace dg::gateway
