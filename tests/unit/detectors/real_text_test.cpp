// Analyzer and engine together on real prompt text from ../shared/data:
// distillers built from GSM8K and Alpaca, look-alikes from GSM8K (an eval
// harness) and ShareGPT (a chat client). Token counts follow the text
// (~4 characters per token) or, for the chat client, production traces.
#include <catch2/catch.hpp>

#include <random>

#include "detectors/engine.hpp"
#include "tests/unit/detectors/corpus.hpp"
#include "tests/unit/detectors/traffic_shapes.hpp"

using namespace dg::detectors;

namespace {

struct Sent {
  std::string user;
  std::string system;
  std::uint64_t completion_tokens = 0;
};

KeyAssessment feed(Engine& engine, const std::string& key, const std::vector<Sent>& items, double gap,
                   const std::function<void(Exchange&)>& params) {
  KeyAssessment a;
  double ts = 1732233600;
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> expo(1.0);
  for (const auto& it : items) {
    auto ex = dg::test::base_exchange(key, ts);
    ex.request.prompt = engine.analyzer()->analyze(PromptText{it.system, it.user});
    ex.request.prompt_chars = it.user.size() + it.system.size();
    ex.response.prompt_tokens = (it.user.size() + it.system.size()) / 4 + 12;  // chat template overhead
    ex.response.completion_tokens = it.completion_tokens;
    params(ex);
    a = engine.observe(ex);
    ts += gap * expo(rng);
  }
  return a;
}

bool finding(const KeyAssessment& a, std::string_view name) {
  for (const auto& f : a.findings)
    if (f.detector == name) return true;
  return false;
}

}  // namespace

TEST_CASE("real text: GSM8K rationale and Alpaca distillers alert, eval harness and chat client do not",
          "[detectors]") {
  auto gsm = dg::test::gsm8k(1319);
  auto alpaca = dg::test::alpaca(1500);
  auto chats = dg::test::sharegpt(1000);
  if (gsm.empty() || alpaca.empty() || chats.empty()) {
    WARN("prompt corpora not found under " << dg::test::shared_data_dir() << "; skipped");
    return;
  }
  Engine engine(EngineConfig{});

  // Distiller 1: GSM8K questions with their answers, asking for the reasoning.
  std::vector<Sent> rationale;
  for (const auto& [q, a] : gsm)
    rationale.push_back({q + "\n\nThe answer is " + a + ". Explain step by step why this is the answer.", "", 350});
  auto r1 = feed(engine, "fp:gsm-distiller", rationale, 5.0, [](Exchange& ex) { ex.request.temperature = 0.7; });
  CHECK(r1.alert);
  CHECK(finding(r1, "reasoning_elicitation"));

  // Distiller 2: Alpaca instructions answered at length (outputs as long as
  // the data set's own, in tokens: 275 characters on average -> ~70; the
  // harvester asks for detailed answers, ~4x that).
  std::vector<Sent> instr;
  for (const auto& p : alpaca) instr.push_back({p, "", 280});
  auto r2 = feed(engine, "fp:alpaca-distiller", instr, 5.0, [](Exchange& ex) { ex.request.max_tokens = 2048; });
  CHECK(r2.alert);
  CHECK(finding(r2, "generation_heavy"));

  // Look-alike 1: lm-eval style GSM8K run, zero-shot CoT, temperature 0, logprobs.
  std::vector<Sent> eval;
  for (const auto& [q, a] : gsm) eval.push_back({"Question: " + q + "\nAnswer: Let's think step by step.", "", 180});
  auto b1 = feed(engine, "fp:eval", eval, 0.5, [](Exchange& ex) {
    ex.request.temperature = 0;
    ex.request.logprobs = true;
    ex.request.top_logprobs = 5;
    ex.request.max_tokens = 512;
  });
  CHECK_FALSE(b1.alert);

  // Look-alike 2: a chat client's first turns with production-like sizes.
  std::vector<Sent> chat;
  std::mt19937_64 rng(2);
  for (const auto& c : chats) chat.push_back({c, "You are a helpful assistant.", 100 + rng() % 400});
  auto b2 = feed(engine, "fp:chat", chat, 30.0, [](Exchange& ex) {
    ex.response.prompt_tokens += 600;  // conversation context the traces show (Azure conv: ~1k tokens)
  });
  CHECK_FALSE(b2.alert);
  for (const auto& f : b2.scores) INFO(f.detector << "=" << f.score);
}
