#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "config/campaign_config.hpp"
#include "config/config.hpp"
#include "config/detection_config.hpp"
#include "config/policy_config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/engine.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/enforce/engine_assessment_source.hpp"
#include "gateway/enforce/exchange_pipeline.hpp"
#include "gateway/replay/replay_runner.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/request_features.hpp"
#include "gateway/traffic/traffic_reader.hpp"
#include "sim/data_set.hpp"
#include "sim/scenario.hpp"
#include "tests/shared_data_dir.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::Decision;
using dg::detectors::KeyAssessment;
using dg::detectors::Policy;
using dg::detectors::PolicyEngine;
namespace json = boost::json;

namespace {

/// A fixed risk for every key; can be told to throw.
struct ScriptedDetection final : AssessmentSource {
  double risk = 0.95;
  bool fail = false;
  int observed = 0;
  KeyAssessment observe(const dg::detectors::Exchange& ex) override {
    if (fail) throw std::runtime_error("engine unavailable");
    ++observed;
    KeyAssessment a;  // key_fp left empty: the pipeline fills it in
    a.risk = risk;
    a.findings.push_back({"reasoning_elicitation", risk, {"asks for the reasoning"}});
    a.request_index = static_cast<std::uint64_t>(ex.ts);
    return a;
  }
  KeyAssessment peek(const std::string&, double) const override { return {}; }
};

std::shared_ptr<Policy> block_policy() {
  auto p = std::make_shared<Policy>();
  dg::detectors::Rule b;
  b.name = "block";
  b.action = Action::Block;
  b.when.min_risk = 0.9;
  p->rules = {b};
  p->block.ttl_s = 600;
  return p;
}

dg::detectors::Exchange exchange_of(std::string fp, double ts) {
  dg::detectors::Exchange ex;
  ex.ts = ts;
  ex.key_fp = std::move(fp);
  ex.response.status = 200;
  return ex;
}

}  // namespace

TEST_CASE("exchange pipeline: detection, policy and store, once per new decision", "[unit][pipeline]") {
  PolicyEngine policy(block_policy());
  DecisionStore store({});
  ScriptedDetection detection;
  ExchangePipeline pipeline(&policy, store, &detection);
  const std::string fp = "fp:00000000000000b1";

  auto r = pipeline.run(exchange_of(fp, 10));
  CHECK(r.detection == PipelineResult::Detection::Observed);
  CHECK(r.assessment.key_fp == fp);
  REQUIRE(r.decision);
  CHECK(r.decision->action == Action::Block);
  CHECK(r.decision->created == 10);
  // Applied to the store (table the proxy reads) by the pipeline itself.
  REQUIRE(store.table().active(fp, 11));
  CHECK(store.table().active(fp, 11)->action == Action::Block);
  CHECK(store.changes() == 1);
  // The store's table is the policy's view: an equal active decision is not repeated.
  auto again = pipeline.run(exchange_of(fp, 12));
  CHECK(again.detection == PipelineResult::Detection::Observed);
  CHECK_FALSE(again.decision);
  CHECK(store.changes() == 1);

  // Below every rule: observed, no decision.
  detection.risk = 0.1;
  CHECK_FALSE(pipeline.run(exchange_of("fp:00000000000000b2", 13)).decision);

  // A failing engine is reported, not thrown; nothing is decided.
  detection.fail = true;
  auto failed = pipeline.run(exchange_of("fp:00000000000000b3", 14));
  CHECK(failed.detection == PipelineResult::Detection::Failed);
  CHECK(failed.error == "engine unavailable");
  CHECK_FALSE(failed.decision);

  // No detection configured; no policy (replay without rules).
  ExchangePipeline blind(&policy, store, nullptr);
  CHECK(blind.run(exchange_of(fp, 15)).detection == PipelineResult::Detection::Unavailable);
  detection.fail = false;
  detection.risk = 0.99;
  ExchangePipeline no_policy(nullptr, store, &detection);
  auto observed = no_policy.run(exchange_of("fp:00000000000000b4", 16));
  CHECK(observed.detection == PipelineResult::Detection::Observed);
  CHECK_FALSE(observed.decision);
  CHECK_FALSE(store.table().active("fp:00000000000000b4", 16));
}

TEST_CASE("exchange pipeline: the campaign linker records before the engine observes, and learns actioned keys",
          "[unit][pipeline]") {
  dg::detectors::EngineConfig ecfg;
  dg::detectors::Engine engine(ecfg);
  dg::detectors::CampaignConfig ccfg;
  ccfg.enabled = true;
  dg::detectors::CampaignLinker linker(ccfg);
  CampaignStage stage(linker, engine, CampaignStage::Clustering::Timer);
  PolicyEngine policy(block_policy());
  DecisionStore store({});
  stage.attach(store);
  ScriptedDetection detection;
  ExchangePipeline pipeline(&policy, store, &detection);
  pipeline.set_campaigns(&stage);
  auto ex = exchange_of("fp:00000000000000c1", 100);
  ex.client_ip = "203.0.113.7";
  ex.request.prompt.template_signature = 0x5eed;
  ex.request.prompt.normalized_chars = 400;  // long enough to count as a template
  auto r = pipeline.run(ex);
  REQUIRE(r.decision);
  CHECK(linker.stats().exchanges_recorded == 1);
  CHECK(stage.latest_event_time() == 100);
  CHECK(linker.stats().actioned_tracked == 1);  // the store's listener told the linker
}

namespace {

/// The decisions of one run as comparable lines: "ts key action rule".
std::string line_of(double ts, std::string_view key, std::string_view action, std::string_view rule) {
  std::ostringstream o;
  o.precision(17);
  o << ts << " " << key << " " << action << " " << rule;
  return o.str();
}

}  // namespace

TEST_CASE("exchange pipeline: replay and the live enforcer take the same decisions on the same exchanges",
          "[unit][pipeline][replay]") {
  static const auto data = dg::sim::DataSet::load_or_builtin(dg::test::shared_data_dir());
  const auto dir = std::filesystem::temp_directory_path() / ("dg-pipeline-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto traffic = (dir / "traffic.jsonl").string();
  {
    dg::sim::ScenarioOptions o;
    o.seed = 5;
    o.days = 1;
    o.benign = 4;
    o.lookalikes = 0;
    o.distillers = 4;
    std::ofstream t(traffic, std::ios::binary);
    std::ostringstream labels;
    dg::sim::generate_scenario("population", o, *data, t, labels);
  }
  const auto config = (dir / "config.yaml").string();
  std::ofstream(config) << "campaigns: {cluster_interval_s: 600}\n"
                        << "policy:\n"
                        << "  rules:\n"
                        << "    - {name: watch, when: {risk: 0.6}, action: throttle, shadow: true}\n"
                        << "    - {name: throttle-distillers, when: {risk: 0.8}, action: throttle}\n"
                        << "    - {name: block-distillers, when: {risk: 0.95}, action: block}\n";

  // Replay.
  std::vector<std::string> replayed;
  {
    std::ostringstream output, errors;
    ReplayRunner runner(config, &output);
    REQUIRE(runner.replay_files({traffic}, errors));
    REQUIRE(errors.str().empty());
    std::istringstream in(output.str());
    std::string l;
    while (std::getline(in, l)) {
      const auto v = json::parse(l).as_object();
      if (v.at("event") != "decision") continue;
      replayed.push_back(line_of(v.at("ts").to_number<double>(), v.at("key").as_string(), v.at("action").as_string(),
                                 v.at("rule").as_string()));
    }
  }

  // Live: the enforcer's on_exchange with the exchanges the proxy would hand
  // it (features and prompt analysis of each request body), the same config,
  // and the linker clustering on event time as replay does.
  std::vector<std::string> live;
  {
    const auto cfg = dg::config::load_config(config);
    dg::detectors::Engine engine(dg::config::load_detection_config(cfg));
    dg::detectors::CampaignLinker linker(dg::config::load_campaign_config(cfg));
    CampaignStage stage(linker, engine, CampaignStage::Clustering::EventTime);
    PolicyEngine policy(std::make_shared<Policy>(dg::config::load_policy(dg::config::locate_policy(config))));
    DecisionStore store({});
    stage.attach(store);
    EngineAssessmentSource source(engine);
    Enforcer enforcer(policy, store, &source);
    enforcer.set_analyze_prompts(false);
    enforcer.set_campaigns(&stage);
    enforcer.set_decision_listener([&](const Decision& d, const KeyAssessment&) {
      live.push_back(line_of(d.created, d.key_fp, dg::detectors::to_string(d.action), d.rule));
    });
    TrafficReader reader;
    REQUIRE(reader.open(traffic));
    TrafficRecord r;
    ExtractedRequest extracted;
    while (reader.next(r) == TrafficReader::Result::Record) {
      dg::detectors::Exchange ex;
      ex.ts = r.ts;
      ex.key_fp = is_fingerprint(r.key) ? std::string(r.key) : key_fingerprint(r.key, cfg.proxy.identity.fingerprint_salt);
      ex.client_ip = std::string(r.client_ip);
      ex.user_agent = std::string(r.user_agent);
      ex.method = std::string(r.method);
      ex.path = std::string(r.path);
      extract_request_features(r.path, r.request, extracted);
      ex.request = extracted.features;
      ex.request.prompt = engine.analyzer()->analyze(extracted.text);
      ex.response.status = r.status;
      ex.response.prompt_tokens = r.prompt_tokens.value_or(0);
      ex.response.completion_tokens = r.completion_tokens.value_or(0);
      ex.response.usage_estimated = !r.prompt_tokens && !r.completion_tokens;
      ex.response.latency_ms = r.latency_ms;
      enforcer.on_exchange(ex, RequestState{});
    }
  }
  std::filesystem::remove_all(dir);

  CHECK(replayed.size() >= 4);
  CHECK(live == replayed);
}

namespace {

/// A journal that remembers which thread wrote each record, and can fail.
struct ThreadRecordingJournal final : JournalSink {
  std::mutex mutex;
  std::vector<std::thread::id> writers;
  std::vector<std::string> keys;
  bool fail = false;
  bool compact(const std::vector<Decision>&, std::string&) override { return true; }
  bool append_put(const Decision& d) override {
    std::lock_guard lock(mutex);
    writers.push_back(std::this_thread::get_id());
    keys.push_back(d.key_fp);
    return !fail;
  }
  bool append_remove(std::string_view, double) override { return true; }
  bool needs_compaction() const override { return false; }
};

}  // namespace

TEST_CASE("exchange pipeline: the journal is written off the calling (worker) thread", "[unit][pipeline][journal]") {
  PolicyEngine policy(block_policy());
  auto sink = std::make_unique<ThreadRecordingJournal>();
  auto* journal = sink.get();
  DecisionStore store({}, std::move(sink));
  ScriptedDetection detection;
  ExchangePipeline pipeline(&policy, store, &detection);
  const std::string fp = "fp:00000000000000c1";

  auto r = pipeline.run(exchange_of(fp, 10));
  REQUIRE(r.decision);
  // In force at once, before the write is known to be done.
  REQUIRE(store.table().active(fp, 10));
  store.flush();
  std::lock_guard lock(journal->mutex);
  REQUIRE(journal->writers.size() == 1);
  CHECK(journal->keys.front() == fp);
  CHECK(journal->writers.front() != std::this_thread::get_id());
}

TEST_CASE("exchange pipeline: a queued journal failure is counted, with its time", "[unit][pipeline][journal]") {
  PolicyEngine policy(block_policy());
  auto sink = std::make_unique<ThreadRecordingJournal>();
  sink->fail = true;
  DecisionStore store({}, std::move(sink));
  ScriptedDetection detection;
  ExchangePipeline pipeline(&policy, store, &detection);
  CHECK(store.last_journal_failure() < 0);
  REQUIRE(pipeline.run(exchange_of("fp:00000000000000c2", 42)).decision);
  store.flush();
  CHECK(store.journal_failures() == 1);
  CHECK(store.last_journal_failure() == 42);  // the enforcer's fail-closed hold starts there
  CHECK(store.table().active("fp:00000000000000c2", 43));  // kept in memory
}
