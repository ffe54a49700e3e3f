#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "config/alerts_config.hpp"
#include "gateway/alerts/alert_dispatcher.hpp"
#include "gateway/alerts/decision_alerts.hpp"
#include "gateway/observability/dg_metrics.hpp"
#include "gateway/observability/metrics.hpp"

using namespace dg;

TEST_CASE("decision alerts: keys recorded from many threads each get their own alert", "[alerts-unit]") {
  gateway::metrics::Registry registry;
  gateway::DgMetrics m(registry);
  config::AlertsConfig acfg;
  acfg.queue_capacity = 10000;
  gateway::AlertDispatcher dispatcher(acfg, m);  // not started: alerts stay queued and countable
  gateway::DecisionAlerter alerter(dispatcher, m, /*requests_per_key=*/3, /*max_keys=*/64);

  // 4 threads x 200 distinct keys: far more keys than the cap, spread over shards.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&alerter, t] {
      for (int i = 0; i < 200; ++i) {
        detectors::Exchange ex;
        ex.ts = 1000 + i;
        ex.key_fp = "fp:" + std::to_string(t) + "-" + std::to_string(i);
        for (int r = 0; r < 5; ++r) alerter.remember_exchange(ex);
      }
    });
  }
  for (auto& th : threads) th.join();

  const std::size_t before = dispatcher.queued();
  for (int t = 0; t < 4; ++t) {
    detectors::Decision d;
    d.key_fp = "fp:" + std::to_string(t) + "-199";
    d.action = detectors::Action::Block;
    d.created = 2000;
    d.expires = 3000;
    alerter.on_policy_decision(d, detectors::KeyAssessment{});
  }
  CHECK(dispatcher.queued() == before + 4);
}
