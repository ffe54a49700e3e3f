#include "gateway/app/observability_setup.hpp"

#include <algorithm>
#include <chrono>

#include "config/detection_config.hpp"
#include "gateway/app/metrics_wiring.hpp"
#include "gateway/fleet/decision_wire.hpp"
#include "gateway/observability/process_metrics.hpp"

namespace dg::gateway {

namespace {
double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }
}  // namespace

std::unique_ptr<Observability> Observability::create(const config::Config& cfg, Enforcement& enforcement,
                                                     detectors::Engine* engine, DgMetrics* metrics) {
  auto alerts = config::load_alerts_config(cfg.alerts, cfg.path);
  std::unique_ptr<Observability> o(new Observability(metrics ? *metrics : default_metrics()));
  auto& m = o->metrics_;
  o->dispatcher_ = std::make_unique<AlertDispatcher>(std::move(alerts), m);
  // The Enforcement owns its detection source, so findings are counted from
  // the assessments behind decisions (see DecisionAlerter).
  // Its per-key memory obeys the detection store's cap too (issue #12.8).
  const std::size_t max_keys = std::min<std::size_t>(
      10000, engine ? engine->config()->store.max_keys : config::load_detection_config(cfg).store.max_keys);
  o->alerter_ = std::make_unique<DecisionAlerter>(*o->dispatcher_, m, 5, max_keys, /*count_findings_on_decisions=*/true);
  auto* alerter = o->alerter_.get();
  alerter->set_campaign_members([self = o.get()](std::string_view id) -> std::vector<std::string> {
    const auto* linker = self->linker_.load();
    if (!linker) return {};
    for (auto& c : linker->campaigns())
      if (c.campaign_id == id) return c.member_fps;
    return {};
  });
  // A decision received from another instance of the fleet was alerted there.
  enforcement.store().set_listener([alerter](const detectors::Decision& d, std::string_view actor) {
    if (!fleet::is_fleet_actor(actor)) alerter->on_store_change(d, actor);
  });
  enforcement.enforcer().set_decision_listener(
      [alerter](const detectors::Decision& d, const detectors::KeyAssessment& a) { alerter->on_policy_decision(d, a); });
  o->hooks_ = std::make_shared<InstrumentedHooks>(enforcement.hooks(), m, alerter);

  o->callbacks_.push_back(publish_decision_gauges(m, enforcement.store().table(), unix_now));
  o->callbacks_.push_back(publish_reloader_counters(m, enforcement.reloader()));
  o->callbacks_.push_back(publish_process_metrics(m));
  o->callbacks_.push_back(publish_store_counters(m, enforcement.store()));
  if (engine) {
    o->callbacks_.push_back(publish_engine_gauges(m, [engine, self = o.get()] {
      auto s = engine->stats();
      const auto* linker = self->linker_.load();
      const std::uint64_t campaigns = linker ? linker->stats().campaigns : 0;
      return EngineGaugeSource{s.keys_tracked, campaigns, s.keys_evicted_idle, s.keys_evicted_cap};
    }));
  }
  if (auto* admin = enforcement.admin()) register_metrics_route(*admin, m);
  return o;
}

Observability::~Observability() {
  stop();
  for (auto id : callbacks_) metrics_.registry.remove_callback(id);
}

void Observability::attach_proxy(const ProxyServer& server) {
  callbacks_.push_back(
      publish_proxy_stats(metrics_, server.stats(), [&server] { return server.capture_write_failures(); }));
  callbacks_.push_back(publish_proxy_traffic(metrics_, server.stats()));
}

void Observability::attach_fleet(fleet::Fleet& fleet, const std::atomic<std::uint64_t>& rejected) {
  callbacks_.push_back(publish_fleet_counters(metrics_, fleet.stats(), fleet.counter_stats(),
                                              [&fleet] { return fleet.counters().size(); }, rejected));
}

void Observability::start() { dispatcher_->start(); }

void Observability::stop() {
  if (dispatcher_) dispatcher_->shutdown();
}

}  // namespace dg::gateway
