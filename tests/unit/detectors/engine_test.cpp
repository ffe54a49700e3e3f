#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include "detectors/detector_scores.hpp"
#include "detectors/engine.hpp"
#include "detectors/hash.hpp"
#include "tests/unit/detectors/traffic_shapes.hpp"

using namespace dg::detectors;
using dg::test::score_of;
using dg::test::Shape;
using dg::test::shaped;

namespace {

enum class Arrival { Regular, Poisson, Diurnal };

struct RunResult {
  double max_risk = 0;
  std::uint64_t first_alert = 0;  // request index of the first alert, 0 = never
  KeyAssessment last;
  double end_ts = 0;
};

/// Sends `n` exchanges of `shape` on `key` starting at `start`, with mean gap
/// `gap` seconds. The fake clock is the exchange's ts.
RunResult run(Engine& engine, Shape shape, const std::string& key, double start, int n, double gap,
              Arrival arrival, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> expo(1.0);
  RunResult r;
  double ts = start;
  for (int i = 0; i < n; ++i) {
    auto a = engine.observe(shaped(shape, key, ts, static_cast<std::uint64_t>(i), rng));
    r.max_risk = std::max(r.max_risk, a.risk);
    if (a.alert && r.first_alert == 0) r.first_alert = a.request_index;
    r.last = std::move(a);
    r.end_ts = ts;
    switch (arrival) {
      case Arrival::Regular: ts += gap; break;
      case Arrival::Poisson: ts += gap * expo(rng); break;
      case Arrival::Diurnal: {
        // Thinned Poisson with a daily cycle: busy afternoons, quiet nights.
        for (;;) {
          ts += gap * 0.5 * expo(rng);
          const double hour = std::fmod(ts, 86400.0) / 3600.0;
          const double rate = 0.5 + 0.5 * std::sin((hour - 9) / 24 * 2 * M_PI);  // 0..1
          if (std::uniform_real_distribution<double>(0, 1)(rng) < rate) break;
        }
        break;
      }
    }
  }
  return r;
}

bool has_finding(const KeyAssessment& a, std::string_view name) {
  return std::any_of(a.findings.begin(), a.findings.end(), [&](const Finding& f) { return f.detector == name; });
}

constexpr double kT0 = 1732233600;  // 2024-11-22 00:00 UTC

}  // namespace

TEST_CASE("each distiller shape crosses the alert threshold with its detector's finding", "[detectors]") {
  struct Case {
    Shape shape;
    const char* detector;
  };
  const Case cases[] = {{Shape::ReasoningDistiller, "reasoning_elicitation"},
                        {Shape::LogprobHarvester, "logprob_harvesting"},
                        {Shape::LogprobNoBias, "coverage"},
                        {Shape::AlpacaDistiller, "generation_heavy"}};
  for (const auto& c : cases) {
    Engine engine(EngineConfig{});
    auto r = run(engine, c.shape, "fp:distiller", kT0, 600, 3.0, Arrival::Poisson);
    INFO(c.detector << " risk " << r.last.risk);
    CHECK(r.last.alert);
    CHECK(r.first_alert > 0);
    CHECK(r.first_alert <= 60);
    CHECK(has_finding(r.last, c.detector));
    const auto p = engine.peek("fp:distiller", r.end_ts);  // peek always writes evidence
    CHECK(has_finding(p, c.detector));
    for (const auto& f : p.findings) CHECK_FALSE(f.evidence.empty());
  }
}

TEST_CASE("evidence states shares and counts", "[detectors]") {
  Engine engine(EngineConfig{});
  auto r = run(engine, Shape::ReasoningDistiller, "fp:e", kT0, 1340, 2.0, Arrival::Regular);
  REQUIRE(has_finding(r.last, "reasoning_elicitation"));
  // Observations write sentences only when something is new.
  for (const auto& f : r.last.findings) CHECK(f.evidence.empty());
  const auto p = engine.peek("fp:e", r.end_ts);
  const auto& f = *std::find_if(p.findings.begin(), p.findings.end(),
                                [](const Finding& x) { return x.detector == "reasoning_elicitation"; });
  REQUIRE_FALSE(f.evidence.empty());
  CHECK(f.evidence[0].find("100% of 1,340 requests in the last 6h ask for the reasoning behind a given answer") !=
        std::string::npos);
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_count(12) == "12");
  CHECK(format_duration(3600) == "1h");
  CHECK(format_duration(259200) == "3d");
}

TEST_CASE("benign look-alikes stay under the alert threshold, even with machine cadence", "[detectors]") {
  struct Case {
    Shape shape;
    int n;
    double gap;
    Arrival arrival;
  };
  const Case cases[] = {
      {Shape::EvalHarness, 1319, 0.3, Arrival::Regular},
      {Shape::EvalHarnessBoxed, 1319, 0.3, Arrival::Regular},
      {Shape::LoglikelihoodEval, 5000, 0.2, Arrival::Regular},
      {Shape::BatchJob, 20000, 10.0, Arrival::Regular},  // 24/7 for two days
      {Shape::Rag, 5000, 20.0, Arrival::Poisson},
      {Shape::CodingAgent, 5000, 4.0, Arrival::Regular},
      {Shape::ChatProduct, 20000, 20.0, Arrival::Diurnal},
  };
  int idx = 0;
  for (const auto& c : cases) {
    Engine engine(EngineConfig{});
    auto r = run(engine, c.shape, "fp:benign", kT0, c.n, c.gap, c.arrival);
    INFO("case " << idx++ << " max risk " << r.max_risk);
    for (const auto& f : r.last.scores) INFO(f.detector << "=" << f.score);
    CHECK_FALSE(r.last.alert);
    CHECK(r.max_risk < 0.8);
  }
}

TEST_CASE("CoT-harvest phrasing corroborates, a stated answer stands alone", "[detectors]") {
  {
    // The \boxed{} eval prompt: reasoning corroborates, no finding, capped risk.
    Engine engine(EngineConfig{});
    auto r = run(engine, Shape::EvalHarnessBoxed, "fp:eval", kT0, 1319, 0.3, Arrival::Regular);
    CHECK(score_of(r.last, "reasoning_elicitation") >= 0.5);
    CHECK_FALSE(has_finding(r.last, "reasoning_elicitation"));
    CHECK(r.last.risk <= EngineConfig{}.combine.uncorroborated_cap + 1e-9);
  }
  {
    // Rationale harvesting with short outputs: no other detector needed.
    Engine engine(EngineConfig{});
    std::mt19937_64 rng(9);
    KeyAssessment a;
    for (int i = 0; i < 200; ++i) {
      auto ex = shaped(Shape::ReasoningDistiller, "fp:rat", kT0 + i * 30.0, i, rng);
      ex.response.completion_tokens = 60;
      ex.request.assistant_turns = 1;
      a = engine.observe(ex);
    }
    CHECK(score_of(a, "generation_heavy") == 0);
    CHECK(has_finding(a, "reasoning_elicitation"));
    CHECK(a.alert);
  }
}

TEST_CASE("slow-and-low distillers are judged on their decayed history", "[detectors]") {
  for (Shape shape : {Shape::ReasoningDistiller, Shape::AlpacaDistiller}) {
    Engine engine(EngineConfig{});
    // ~25 requests a day for a week: never 20 requests in any 6h window.
    auto r = run(engine, shape, "fp:slow", kT0, 175, 86400.0 / 25, Arrival::Poisson);
    INFO("risk " << r.last.risk);
    CHECK(r.last.alert);
  }
}

TEST_CASE("no score before the minimum evidence", "[detectors]") {
  Engine engine(EngineConfig{});
  auto r = run(engine, Shape::LogprobHarvester, "fp:new", kT0, 19, 1.0, Arrival::Regular);
  CHECK(r.last.risk == 0);
  CHECK(r.last.findings.empty());
  auto a = engine.observe(shaped(Shape::LogprobHarvester, "fp:new", kT0 + 20, 20, *std::make_unique<std::mt19937_64>(1)));
  CHECK(a.request_index == 20);
  CHECK(a.new_finding);
  CHECK(has_finding(a, "logprob_harvesting"));
  for (const auto& f : a.findings) CHECK_FALSE(f.evidence.empty());  // new: with sentences
  auto b = engine.observe(shaped(Shape::LogprobHarvester, "fp:new", kT0 + 21, 21, *std::make_unique<std::mt19937_64>(2)));
  CHECK_FALSE(b.new_finding);  // already reported
}

TEST_CASE("a score hovering at its threshold reports once (hysteresis)", "[detectors]") {
  Engine engine(EngineConfig{});
  std::mt19937_64 rng(4);
  int new_findings = 0, raw_crossings = 0;
  std::set<std::string> before, detectors;
  // Mix harvest-shaped and plain requests so that scores wander around
  // their thresholds.
  for (int i = 0; i < 3000; ++i) {
    const bool plain = (i / 40) % 2 == 0 ? i % 2 == 0 : i % 5 == 0;
    auto ex = shaped(plain ? Shape::BatchJob : Shape::LogprobHarvester, "fp:h", kT0 + i * 2.0, i, rng);
    auto a = engine.observe(ex);
    new_findings += a.new_finding;
    std::set<std::string> now;
    for (const auto& f : a.findings) now.insert(f.detector);
    for (const auto& d : now) raw_crossings += !before.contains(d), detectors.insert(d);
    before = now;
  }
  INFO("raw crossings " << raw_crossings << ", new_finding " << new_findings);
  CHECK(new_findings * 2 <= raw_crossings);
  CHECK(new_findings >= static_cast<int>(detectors.size()));
}

TEST_CASE("windows decay: an attack that stopped fades", "[detectors]") {
  Engine engine(EngineConfig{});
  auto r = run(engine, Shape::LogprobHarvester, "fp:d", kT0, 500, 2.0, Arrival::Regular);
  REQUIRE(has_finding(r.last, "logprob_harvesting"));
  // Two hours of ordinary requests later (window 1h): the share is gone.
  auto b = run(engine, Shape::BatchJob, "fp:d", r.end_ts + 7200, 100, 10.0, Arrival::Regular);
  CHECK(score_of(b.last, "logprob_harvesting") == 0);
  // peek far in the future sees empty windows as well.
  auto p = engine.peek("fp:d", r.end_ts + 30 * 86400);
  CHECK(score_of(p, "logprob_harvesting") == 0);
  CHECK(p.request_index == 600);
}

TEST_CASE("FreqWindow weights the previous period by its remaining share", "[detectors]") {
  FreqWindow<1> w;
  const double P = 100;
  w.roll(1000, P);
  w.add(0, 10);
  CHECK(w.value(0, 1050, P) == Approx(10));
  w.roll(1150, P);  // next period, 50% in
  w.add(0, 4);
  CHECK(w.value(0, 1150, P) == Approx(10 * 0.5 + 4));
  CHECK(w.value(0, 1199, P) == Approx(10 * 0.01 + 4));
  CHECK(w.value(0, 1250, P) == Approx(4 * 0.5));  // peek one period later
  CHECK(w.value(0, 1400, P) == 0);
  w.roll(1400, P);  // skipped periods clear both
  CHECK(w.value(0, 1400, P) == 0);

  DecayedCounters<1> d;
  d.decay_to(1000, 10);
  d.v[0] = 8;
  CHECK(d.value(0, 1010, 10) == Approx(4));
  d.decay_to(1020, 10);
  CHECK(d.v[0] == Approx(2));
}

TEST_CASE("HyperLogLog error stays within bounds", "[detectors]") {
  std::mt19937_64 rng(42);
  for (int n : {1, 5, 20, 50, 100, 1000, 10000, 100000}) {
    double worst = 0;
    for (int trial = 0; trial < 10; ++trial) {
      Hll64 h;
      for (int i = 0; i < n; ++i) {
        const auto x = rng();
        h.add(dg::detectors::mix64(x));
        h.add(dg::detectors::mix64(x));  // duplicates do not count
      }
      // Below ~10 items one register collision is a whole item: allow 1.5 absolute.
      worst = std::max(worst, std::max(0.0, std::abs(h.estimate() - n) - 1.5) / n);
    }
    INFO("n=" << n << " worst relative error " << worst);
    // ~3 sigma: linear counting below ~150, 13% standard error above.
    CHECK(worst < (n <= 20 ? 0.15 : n <= 100 ? 0.35 : 0.45));
  }
  CHECK(Hll64{}.estimate() == 0);
}

TEST_CASE("coverage is two-sided: one template scores 0, new breadth scores high", "[detectors]") {
  EngineConfig cfg;
  cfg.coverage.common.window_s = 3600;
  {
    Engine engine(cfg);
    auto r = run(engine, Shape::BatchJob, "fp:b", kT0, 2000, 3.0, Arrival::Regular);
    CHECK(score_of(r.last, "coverage") == 0);
  }
  {
    // A one-template key for a day, then a broad walk: full breadth score.
    Engine engine(cfg);
    auto r = run(engine, Shape::BatchJob, "fp:c", kT0, 1440, 60.0, Arrival::Regular);
    auto b = run(engine, Shape::AlpacaDistiller, "fp:c", r.end_ts + 60, 600, 3.0, Arrival::Regular);
    CHECK(score_of(b.last, "coverage") > 0.9);
  }
  {
    // Broad for days: the key's usual breadth discounts (to the floor).
    Engine engine(cfg);
    auto r = run(engine, Shape::AlpacaDistiller, "fp:d", kT0, 3000, 60.0, Arrival::Regular);
    const double s = score_of(r.last, "coverage");
    CHECK(s <= cfg.coverage.history_floor + 1e-6);
    CHECK(s > 0);
  }
}

TEST_CASE("volume is judged against the key's own past and its tenant's", "[detectors]") {
  EngineConfig cfg;
  auto steady = [](Engine& e, const std::string& key, const std::string& tenant, double start, int hours,
                   int per_hour, std::uint64_t out) {
    double ts = start;
    for (int h = 0; h < hours; ++h) {
      for (int i = 0; i < per_hour; ++i) {
        auto ex = dg::test::base_exchange(key, ts + i * 3600.0 / per_hour);
        ex.tenant = tenant;
        ex.response.prompt_tokens = 2000;
        ex.response.completion_tokens = out;
        ex.request.assistant_turns = 2;
        e.observe(ex);
      }
      ts += 3600;
    }
    return ts;
  };
  Engine engine(cfg);
  // Own past: 30 hours at 60 x 300 = 18k tokens/h, then 600 x 1000 = 600k in one hour.
  double ts = steady(engine, "fp:v", "acme", kT0, 30, 60, 300);
  ts = steady(engine, "fp:v", "acme", ts, 1, 600, 1000);
  auto a = engine.peek("fp:v", ts - 1);
  CHECK(score_of(a, "volume") >= 0.8);
  // Tenant: a fresh key of the same tenant jumps straight to 600k/h.
  steady(engine, "fp:v2", "acme", ts, 1, 600, 1000);
  CHECK(score_of(engine.peek("fp:v2", ts + 3599), "volume") >= 0.8);
  // The steady key at its usual level scores 0.
  Engine quiet(cfg);
  double t2 = steady(quiet, "fp:q", "acme", kT0, 40, 60, 300);
  CHECK(score_of(quiet.peek("fp:q", t2 - 1), "volume") == 0);
}

TEST_CASE("machine cadence: regular gaps and flat round-the-clock activity", "[detectors]") {
  Engine engine(EngineConfig{});
  auto regular = run(engine, Shape::BatchJob, "fp:r", kT0, 300, 2.0, Arrival::Regular);
  CHECK(score_of(regular.last, "machine_cadence") == Approx(1.0));
  auto poisson = run(engine, Shape::BatchJob, "fp:p", kT0, 3000, 2.0, Arrival::Poisson);
  CHECK(score_of(poisson.last, "machine_cadence") < 0.3);
  // Poisson but flat around the clock for 3 days vs a daily cycle.
  auto flat = run(engine, Shape::BatchJob, "fp:f", kT0, 8000, 30.0, Arrival::Poisson);
  CHECK(score_of(flat.last, "machine_cadence") >= 0.6);
  auto daily = run(engine, Shape::BatchJob, "fp:h", kT0, 8000, 30.0, Arrival::Diurnal);
  CHECK(score_of(daily.last, "machine_cadence") < 0.3);
}

TEST_CASE("key cap and idle eviction are enforced and counted", "[detectors]") {
  EngineConfig cfg;
  cfg.store.max_keys = 32;
  cfg.store.shards = 4;
  cfg.store.idle_ttl_s = 100;
  Engine engine(cfg);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) engine.observe(shaped(Shape::BatchJob, "fp:k" + std::to_string(i), kT0, 0, rng));
  auto s = engine.stats();
  CHECK(s.keys_tracked <= 32);
  CHECK(s.keys_evicted_cap == 100 - s.keys_tracked);
  CHECK(s.exchanges == 100);
  engine.evict_idle(kT0 + 50);
  CHECK(engine.stats().keys_evicted_idle == 0);
  engine.evict_idle(kT0 + 101);
  s = engine.stats();
  CHECK(s.keys_tracked == 0);
  CHECK(s.keys_evicted_idle + s.keys_evicted_cap == 100);

  // Amortised: observing keeps evicting idle keys without evict_idle.
  cfg.store.shards = 1;
  Engine e2(cfg);
  for (int i = 0; i < 8; ++i) e2.observe(shaped(Shape::BatchJob, "fp:old" + std::to_string(i), kT0, 0, rng));
  for (int i = 0; i < 40; ++i) e2.observe(shaped(Shape::BatchJob, "fp:new", kT0 + 1000 + i, 0, rng));
  CHECK(e2.stats().keys_evicted_idle >= 2);
  CHECK(e2.peek("fp:unknown", kT0).request_index == 0);
}

TEST_CASE("external findings raise risk until they expire", "[detectors]") {
  Engine engine(EngineConfig{});
  run(engine, Shape::ChatProduct, "fp:x", kT0, 50, 30.0, Arrival::Poisson);
  engine.set_external_finding("fp:x", Finding{"campaign", 0.9, {"41 keys share template T"}}, kT0 + 10000, "c-17");
  auto a = engine.peek("fp:x", kT0 + 5000);
  CHECK(a.risk >= 0.9);
  CHECK(a.campaign == "c-17");
  CHECK(has_finding(a, "campaign"));
  auto b = engine.peek("fp:x", kT0 + 20000);
  CHECK(b.risk < 0.8);
  CHECK(b.campaign.empty());
  engine.evict_idle(kT0 + 20000);
  engine.clear_external_findings("fp:x");
}

TEST_CASE("reconfigure keeps key state and applies new thresholds", "[detectors]") {
  Engine engine(EngineConfig{});
  auto r = run(engine, Shape::EvalHarness, "fp:y", kT0, 200, 1.0, Arrival::Regular);
  CHECK_FALSE(has_finding(r.last, "reasoning_elicitation"));
  EngineConfig strict;
  strict.reasoning_elicitation.common.threshold = 0.3;
  strict.reasoning_elicitation.common.window_s = 1800;
  engine.reconfigure(strict);
  auto a = run(engine, Shape::EvalHarness, "fp:y", r.end_ts + 1, 10, 1.0, Arrival::Regular);
  CHECK(a.last.request_index == 210);
  CHECK(has_finding(a.last, "reasoning_elicitation"));
  CHECK(engine.config()->reasoning_elicitation.common.threshold == 0.3);
  CHECK(engine.analyzer() != nullptr);
}

TEST_CASE("observe is safe from several threads", "[detectors]") {
  EngineConfig cfg;
  cfg.store.max_keys = 1000;
  Engine engine(cfg);
  constexpr int kThreads = 4, kPer = 5000;
  std::vector<std::thread> threads;
  std::atomic<int> alerts{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t));
      for (int i = 0; i < kPer; ++i) {
        const std::string key = "fp:t" + std::to_string(t) + "-" + std::to_string(i % 50);
        auto a = engine.observe(shaped(Shape::LogprobHarvester, key, kT0 + i, static_cast<std::uint64_t>(i), rng));
        if (a.new_alert) ++alerts;
        if (i % 500 == 0) engine.peek(key, kT0 + i);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto s = engine.stats();
  CHECK(s.exchanges == kThreads * kPer);
  CHECK(s.keys_tracked == kThreads * 50);
  CHECK(alerts.load() == kThreads * 50);
}
