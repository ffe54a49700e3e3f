// Coverage counts the breadth of distillable prompts by their whole content,
// not only by template: one fixed wrapper walked over a data set with long
// answers is dataset distillation; the same wrapper over varied items with
// short answers (a batch classification job) and an eval harness sending a
// benchmark once at temperature 0 are not. Real prompt text from
// ../shared/data; the wrappers here are made up (none is the simulator's).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "detectors/engine.hpp"
#include "detectors/prompt_analyzer.hpp"
#include "tests/unit/detectors/corpus.hpp"
#include "tests/unit/detectors/traffic_shapes.hpp"

using namespace dg::detectors;

namespace {

constexpr double kT0 = 1732233600;

const PromptAnalyzer& analyzer() {
  static const PromptAnalyzer a(ReasoningLexicon::defaults());
  return a;
}

struct Outcome {
  double max_risk = 0;
  double coverage = 0;
  double generation = 0;
  double logprob = 0;
  std::vector<std::string> evidence;
};

/// Sends `n` requests built by `make(i, ex)` at a steady ~1 per 20 s.
template <class Make>
Outcome run(Engine& engine, const std::string& key, int n, Make make) {
  Outcome o;
  for (int i = 0; i < n; ++i) {
    auto ex = dg::test::base_exchange(key, kT0 + 20.0 * i);
    make(i, ex);
    auto a = engine.observe(ex);
    o.max_risk = std::max(o.max_risk, a.risk);
  }
  const auto p = engine.peek(key, kT0 + 20.0 * n);
  for (const auto& f : p.scores) {
    if (f.detector == "coverage") o.coverage = f.score;
    if (f.detector == "generation_heavy") o.generation = f.score;
    if (f.detector == "logprob_harvesting") o.logprob = f.score;
  }
  for (const auto& f : p.findings)
    if (f.detector == "coverage") o.evidence = f.evidence;
  return o;
}

std::string fill(std::string tpl, const std::string& slot) {
  const auto at = tpl.find("{}");
  return tpl.replace(at, 2, slot);
}

}  // namespace

TEST_CASE("one wrapper over varied instructions with long answers is breadth of distillable material",
          "[detectors][coverage]") {
  const auto items = dg::test::alpaca(800);
  if (items.size() < 400) {
    WARN("shared Alpaca corpus not found; skipped");
    return;
  }
  const std::string wrapper =
      "You will receive a task for an assistant.\n\n=== TASK ===\n{}\n\n=== END ===\nAnswer in full, well-organised "
      "prose.";
  Engine engine(EngineConfig{});
  std::mt19937_64 rng(5);
  const auto o = run(engine, "fp:wrapper-long", 400, [&](int i, Exchange& ex) {
    const auto text = fill(wrapper, items[static_cast<std::size_t>(i)]);
    ex.request.prompt = analyzer().analyze(PromptText{"", text});
    ex.request.max_tokens = 2048;
    ex.request.temperature = 0.8;
    ex.response.prompt_tokens = text.size() / 4;
    ex.response.completion_tokens = 250 + rng() % 700;
  });
  // The wrapper hides the variety from the template signature ...
  std::set<std::uint64_t> templates;
  for (int i = 0; i < 50; ++i)
    templates.insert(analyzer().analyze(PromptText{"", fill(wrapper, items[static_cast<std::size_t>(i)])}).template_signature);
  CHECK(templates.size() < 50);
  // ... but not from coverage, which corroborates the long answers.
  CHECK(o.generation >= 0.5);
  CHECK(o.coverage >= 0.7);
  CHECK(o.max_risk >= EngineConfig{}.combine.risk_threshold);
  REQUIRE_FALSE(o.evidence.empty());
  CHECK(o.evidence.front().find("distinct prompts with distillable answers") != std::string::npos);
}

TEST_CASE("one template over varied items with short answers is a batch job, not breadth", "[detectors][coverage]") {
  const auto items = dg::test::sharegpt(600);
  if (items.size() < 400) {
    WARN("shared ShareGPT corpus not found; skipped");
    return;
  }
  const std::string tpl = "Tag the following support message with one of: refund, bug, praise, other.\n\nMessage: {}";
  Engine engine(EngineConfig{});
  const auto o = run(engine, "fp:batch-short", 400, [&](int i, Exchange& ex) {
    const auto text = fill(tpl, items[static_cast<std::size_t>(i)].substr(0, 600));
    ex.request.prompt = analyzer().analyze(PromptText{"", text});
    ex.request.max_tokens = 3;
    ex.request.temperature = 0;
    ex.response.prompt_tokens = text.size() / 4 + 20;
    ex.response.completion_tokens = 1 + static_cast<std::uint64_t>(i % 3);
  });
  CHECK(o.coverage == 0);
  CHECK(o.generation == 0);
  // Only behaviour (a steady machine cadence) remains, which never alerts.
  CHECK(o.max_risk < EngineConfig{}.combine.risk_threshold);
}

TEST_CASE("logprob vectors count by template: a few-shot scoring run is narrow, a harvester over raw text is broad",
          "[detectors][coverage]") {
  const auto qs = dg::test::gsm8k(600);
  const auto texts = dg::test::sharegpt(600);
  if (qs.size() < 500 || texts.size() < 500) {
    WARN("shared corpora not found; skipped");
    return;
  }
  std::string shots;
  for (int i = 0; i < 3; ++i)
    shots += "Question: " + qs[static_cast<std::size_t>(500 + i)].first + "\nAnswer: " +
             qs[static_cast<std::size_t>(500 + i)].second + "\n\n";
  auto probe = [](Exchange& ex, const std::string& text) {
    ex.request.prompt = analyzer().analyze(PromptText{"", text});
    ex.request.max_tokens = 1;
    ex.request.temperature = 0;
    ex.request.logprobs = true;
    ex.request.top_logprobs = 20;
    ex.response.prompt_tokens = text.size() / 4;
    ex.response.completion_tokens = 1;
  };
  Engine engine(EngineConfig{});
  const auto eval = run(engine, "fp:scoring-run", 450, [&](int i, Exchange& ex) {
    probe(ex, shots + "Question: " + qs[static_cast<std::size_t>(i)].first + "\nAnswer:");
  });
  CHECK(eval.coverage < 0.5);
  CHECK(eval.logprob <= EngineConfig{}.logprob_harvesting.harvest_max_score + 1e-9);
  CHECK(eval.max_risk < EngineConfig{}.combine.risk_threshold);
  const auto harvester = run(engine, "fp:raw-harvester", 450, [&](int i, Exchange& ex) {
    const auto& t = texts[static_cast<std::size_t>(i)];
    probe(ex, t.substr(0, 40 + static_cast<std::size_t>(i * 7) % 400));
  });
  CHECK(harvester.coverage >= 0.7);
  // Without rotating logit_bias the logprob detector itself finds it: the
  // harvest shape over broad text.
  CHECK(harvester.logprob >= EngineConfig{}.logprob_harvesting.common.threshold);
  CHECK(harvester.max_risk >= EngineConfig{}.combine.risk_threshold);
}

TEST_CASE("a zero-shot CoT eval with verbose answers at temperature 0 with logprobs does not alert",
          "[detectors][coverage]") {
  const auto qs = dg::test::gsm8k(600);
  if (qs.size() < 500) {
    WARN("shared GSM8K corpus not found; skipped");
    return;
  }
  Engine engine(EngineConfig{});
  std::mt19937_64 rng(11);
  // Bare questions are broad (every item is its own prompt) and a reasoning
  // model answers at 5-10x the question's length: breadth plus long answers,
  // but every request is evaluation-shaped (logprobs below the maximum at
  // temperature 0), which must not supply the output corroboration.
  const auto o = run(engine, "fp:eval-verbose", 500, [&](int i, Exchange& ex) {
    const std::string text = qs[static_cast<std::size_t>(i)].first + "\nLet's think step by step.";
    ex.request.prompt = analyzer().analyze(PromptText{"", text});
    ex.request.max_tokens = 2048;
    ex.request.temperature = 0;
    ex.request.logprobs = true;
    ex.request.top_logprobs = 1;
    ex.response.prompt_tokens = text.size() / 4;
    ex.response.completion_tokens = text.size() / 4 * (5 + rng() % 6);
  });
  CHECK(o.coverage >= 0.5);
  CHECK(o.generation < EngineConfig{}.combine.corroboration_score);
  CHECK(o.max_risk < EngineConfig{}.combine.risk_threshold);
}

TEST_CASE("an eval harness sending GSM8K once at temperature 0 does not alert", "[detectors][coverage]") {
  const auto qs = dg::test::gsm8k(600);
  if (qs.size() < 500) {
    WARN("shared GSM8K corpus not found; skipped");
    return;
  }
  std::string shots;
  for (int i = 0; i < 5; ++i)
    shots += "Question: " + qs[static_cast<std::size_t>(500 + i)].first + "\nAnswer: The answer is " +
             qs[static_cast<std::size_t>(500 + i)].second + ".\n\n";
  for (const bool few_shot : {true, false}) {
    INFO("few-shot " << few_shot);
    Engine engine(EngineConfig{});
    std::mt19937_64 rng(9);
    const auto o = run(engine, few_shot ? "fp:eval-5shot" : "fp:eval-0shot", 500, [&](int i, Exchange& ex) {
      const auto& q = qs[static_cast<std::size_t>(i)].first;
      const std::string text = few_shot ? shots + "Question: " + q + "\nAnswer:" : q + "\nLet's think step by step.";
      ex.request.prompt = analyzer().analyze(PromptText{"", text});
      ex.request.max_tokens = 512;
      ex.request.temperature = 0;
      ex.request.logprobs = true;
      ex.request.top_logprobs = 5;
      ex.response.prompt_tokens = text.size() / 4;
      ex.response.completion_tokens = 60 + rng() % 200;
    });
    CHECK(o.max_risk < EngineConfig{}.combine.risk_threshold);
    if (few_shot) CHECK(o.coverage == 0);  // long prompts, shorter answers: nothing distillable
  }
}
