// Hidden benchmarks and diagnostics (not part of the default run):
//   ./build/tests/dg_unit_tests "[.bench]"   timing of analyze and observe
//   ./build/tests/dg_unit_tests "[.diag]"    detector scores per traffic shape
#include <catch2/catch.hpp>

#include <ctime>
#include <cstdio>
#include <random>

#include "detectors/engine.hpp"
#include "detectors/key_state.hpp"
#include "detectors/prompt_analyzer.hpp"
#include "tests/unit/detectors/corpus.hpp"
#include "tests/unit/detectors/traffic_shapes.hpp"

using namespace dg::detectors;
using dg::test::Shape;

namespace {
// Thread CPU time: the test machine is shared, wall time would measure the
// neighbours.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
}  // namespace

TEST_CASE("bench: PromptAnalyzer::analyze", "[.bench]") {
  PromptAnalyzer analyzer(ReasoningLexicon::defaults());
  std::vector<std::string> prompts;
  for (auto& s : dg::test::sharegpt(1000)) prompts.push_back(std::move(s));
  for (auto& s : dg::test::alpaca(2000)) prompts.push_back(std::move(s));
  for (auto& [q, a] : dg::test::gsm8k(1000))
    prompts.push_back("Question: " + q + "\n\nThe answer is " + a + ". Explain step by step why.");
  if (prompts.empty()) {
    WARN("corpora absent; analyze bench skipped");
  } else {
    std::size_t bytes = 0;
    for (auto& p : prompts) bytes += p.size();
    const int rounds = 5;
    const double t0 = cpu_seconds();
    std::uint64_t sink = 0;
    for (int r = 0; r < rounds; ++r)
      for (const auto& p : prompts) sink += analyzer.analyze(PromptText{"", p}).template_signature;
    const double s = cpu_seconds() - t0;
    const double n = double(rounds) * prompts.size();
    std::printf("analyze: %zu prompts, mean %.0f bytes: %.2f us/prompt (CPU time), %.0f MB/s (sink %llu)\n", prompts.size(),
                double(bytes) / prompts.size(), s / n * 1e6, bytes * rounds / s / 1e6,
                static_cast<unsigned long long>(sink & 1));
  }

}

TEST_CASE("bench: Engine::observe", "[.bench]") {
  Engine engine(EngineConfig{});
  std::mt19937_64 rng(3);
  const Shape shapes[] = {Shape::ChatProduct, Shape::Rag,           Shape::BatchJob,        Shape::CodingAgent,
                          Shape::EvalHarness, Shape::AlpacaDistiller, Shape::ReasoningDistiller, Shape::LogprobHarvester};
  constexpr int kKeys = 10000, kN = 1000000;
  std::vector<Exchange> pool;
  for (int i = 0; i < 4096; ++i)
    pool.push_back(dg::test::shaped(shapes[i % 8], "fp:" + std::to_string(100000 + i % kKeys), 0, i, rng));
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("fp:" + std::to_string(1000000000000000ULL + i));
  double ts = 1732233600;
  std::size_t findings = 0;
  const double t0 = cpu_seconds();
  for (int i = 0; i < kN; ++i) {
    auto& ex = pool[i & 4095];
    ex.ts = ts;
    ex.key_fp = keys[(static_cast<std::size_t>(i) * 7919) % kKeys];
    ts += 0.01;
    findings += engine.observe(ex).findings.size();
  }
  const double s = cpu_seconds() - t0;
  std::printf("observe: %d exchanges over %d keys: %.3f us/exchange (CPU time), %.0f exchanges/s (findings %zu)\n", kN, kKeys,
              s / kN * 1e6, kN / s, findings);
  std::printf("bytes_per_key: %zu (KeyState %zu)\n", Engine::bytes_per_key(), sizeof(KeyState));
  CHECK(engine.stats().exchanges == static_cast<std::uint64_t>(kN));
}

TEST_CASE("diag: detector scores per traffic shape", "[.diag]") {
  const std::pair<Shape, const char*> shapes[] = {
      {Shape::ReasoningDistiller, "reasoning distiller"}, {Shape::LogprobHarvester, "logprob harvester"},
      {Shape::LogprobNoBias, "logprob no bias"},          {Shape::AlpacaDistiller, "alpaca distiller"},
      {Shape::EvalHarness, "eval harness"},               {Shape::EvalHarnessBoxed, "eval boxed"},
      {Shape::LoglikelihoodEval, "loglikelihood eval"},   {Shape::BatchJob, "batch job"},
      {Shape::Rag, "rag"},                                {Shape::CodingAgent, "coding agent"},
      {Shape::ChatProduct, "chat product"}};
  for (const auto& [shape, name] : shapes) {
    Engine engine(EngineConfig{});
    std::mt19937_64 rng(5);
    std::exponential_distribution<double> expo(1.0);
    double ts = 1732233600;
    KeyAssessment a;
    for (int i = 0; i < 3000; ++i) {
      a = engine.observe(dg::test::shaped(shape, "fp:k", ts, i, rng));
      ts += 5 * expo(rng);
    }
    std::printf("%-20s risk %.2f |", name, a.risk);
    for (const auto& f : a.scores) std::printf(" %s=%.2f", f.detector.substr(0, 8).c_str(), f.score);
    std::printf("\n");
    for (const auto& f : a.findings)
      for (const auto& e : f.evidence) std::printf("    %s: %s\n", f.detector.c_str(), e.c_str());
  }
}
