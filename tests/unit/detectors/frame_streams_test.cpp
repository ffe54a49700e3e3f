#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "detectors/detector_scores.hpp"
#include "detectors/engine.hpp"
#include "detectors/frame_streams.hpp"
#include "tests/unit/detectors/traffic_shapes.hpp"

using dg::detectors::Engine;
using dg::detectors::EngineConfig;
using dg::detectors::Exchange;
using dg::detectors::FrameRequest;
using dg::detectors::FrameStreams;
using dg::detectors::KeyAssessment;
using dg::test::score_of;

namespace {

constexpr double kHalfLife = 3 * 86400.0;
constexpr std::uint64_t kFrame = 0xF00DF00DF00DF00DULL;

const FrameStreams::Slot* slot_of(const FrameStreams& f, std::uint64_t sig) {
  for (const auto& s : f.slots)
    if (s.used() && s.signature == sig) return &s;
  return nullptr;
}

/// A customer's own chat traffic: unique prompts (no frame recurs), long answers.
Exchange customer_request(const std::string& key, double ts, std::mt19937_64& rng) {
  auto ex = dg::test::base_exchange(key, ts);
  ex.request.prompt.template_signature = rng() | 1;
  ex.request.prompt.content_hash = rng() | 1;
  ex.request.prompt.system_prompt_hash = 0x5157;
  ex.request.prompt.normalized_chars = 400;
  ex.response.prompt_tokens = 100;
  ex.response.completion_tokens = 250;
  return ex;
}

/// One request under a fixed frame over a data set: slots vary, long answers.
Exchange framed_request(const std::string& key, double ts, std::mt19937_64& rng, bool states_answer) {
  auto ex = dg::test::base_exchange(key, ts);
  auto& p = ex.request.prompt;
  p.template_signature = kFrame ^ (rng() % 2);  // a SimHash a bit apart for other slot fillings
  p.content_hash = rng() | 1;
  p.normalized_chars = 300;
  p.states_answer = states_answer;
  p.asks_reasoning_for_answer = states_answer;
  p.reasoning_markers = 1;
  ex.request.max_tokens = 4096;
  ex.response.prompt_tokens = 90;
  ex.response.completion_tokens = 700;
  return ex;
}

}  // namespace

TEST_CASE("frame streams: a frame that recurs among unique prompts takes a slot and counts", "[detectors]") {
  FrameStreams f;
  std::mt19937_64 rng(7);
  int framed = 0;
  for (int i = 0; i < 1000; ++i) {
    FrameRequest r;
    const bool frame = i % 10 == 3;  // 10% of the traffic
    r.signature = frame ? kFrame : (rng() | 1);
    r.content = rng() | 1;
    r.states_answer = frame;
    r.distillable = true;
    f.observe(r, 1000.0 + i * 60, kHalfLife);
    framed += frame;
  }
  const auto* s = slot_of(f, kFrame);
  REQUIRE(s != nullptr);
  // Only its first occurrence (the probation) is not counted.
  CHECK(s->requests == static_cast<std::uint32_t>(framed - 1));
  CHECK(s->stated == s->requests);
  CHECK(s->contents.estimate() == Approx(s->requests).epsilon(0.2));
  // Unique prompts never recur, so they never took a slot.
  for (const auto& other : f.slots) CHECK((!other.used() || other.signature == kFrame));
}

TEST_CASE("frame streams: near-identical signatures are one frame, a full table replaces the weakest", "[detectors]") {
  FrameStreams f;
  auto send = [&](std::uint64_t sig, double ts, int times) {
    for (int i = 0; i < times; ++i) f.observe(FrameRequest{sig, static_cast<std::uint64_t>(i) + 1, false, true}, ts, kHalfLife);
  };
  send(kFrame, 0, 5);
  send(kFrame ^ 0b101, 0, 5);  // two bits apart: the same frame
  REQUIRE(slot_of(f, kFrame) != nullptr);
  CHECK(slot_of(f, kFrame)->requests == 9);
  // Four other frames, later: the oldest (decayed) slot gives way.
  for (std::uint64_t k = 1; k <= 4; ++k) send(k * 0x1111111111111111ULL, 7 * 86400.0 + double(k), 3 + static_cast<int>(k));
  CHECK(slot_of(f, kFrame) == nullptr);
  CHECK(slot_of(f, 4 * 0x1111111111111111ULL) != nullptr);
  CHECK(slot_of(f, 1 * 0x1111111111111111ULL) != nullptr);
}

TEST_CASE("frame_substream: extraction mixed into a customer's key is found on its own frame", "[detectors]") {
  Engine engine{EngineConfig{}};
  std::mt19937_64 rng(11);
  KeyAssessment last;
  double ts = 1'700'000'000;
  // 12% of ~300 requests a day extract under one frame; the rest is the
  // customer's own chat. Over the whole key, stated answers are a small share.
  for (int i = 0; i < 900; ++i) {
    ts += 290;
    const bool extract = i % 25 < 3;
    last = engine.observe(extract ? framed_request("fp:00000000000000aa", ts, rng, true)
                                  : customer_request("fp:00000000000000aa", ts, rng));
  }
  CHECK(score_of(last, "frame_substream") >= 0.9);
  const double elicitation = score_of(last, "reasoning_elicitation");
  CHECK(elicitation >= 0);  // scored (score_of is -1 when not)
  CHECK(elicitation < 0.7);
  const auto peek = engine.peek("fp:00000000000000aa", ts);
  bool found = false;
  for (const auto& f : peek.findings) {
    if (f.detector != "frame_substream") continue;
    found = true;
    REQUIRE_FALSE(f.evidence.empty());
    CHECK(f.evidence.front().find("under one recurring prompt frame") != std::string::npos);
  }
  CHECK(found);
  // The frame fades once it stops (its weight halves every 3 days).
  const double later = score_of(engine.peek("fp:00000000000000aa", ts + 20 * 86400.0), "frame_substream");
  CHECK(later >= 0);  // scored (score_of is -1 when not)
  CHECK(later < 0.7);
}

TEST_CASE("frame_substream: a frame without stated answers, or re-sending one prompt, scores 0", "[detectors]") {
  Engine engine{EngineConfig{}};
  std::mt19937_64 rng(12);
  double ts = 1'700'000'000;
  KeyAssessment tutor, resend;
  for (int i = 0; i < 600; ++i) {
    ts += 120;
    // A homework frame that asks for steps, never stating the answer (a
    // tutoring product, a CoT evaluation).
    tutor = engine.observe(i % 4 == 0 ? framed_request("fp:00000000000000bb", ts, rng, false)
                                      : customer_request("fp:00000000000000bb", ts, rng));
    // One stated-answer prompt sent again and again: no data set behind it.
    auto ex = framed_request("fp:00000000000000cc", ts, rng, true);
    ex.request.prompt.content_hash = 42;
    resend = engine.observe(i % 4 == 0 ? ex : customer_request("fp:00000000000000cc", ts, rng));
  }
  CHECK(score_of(tutor, "frame_substream") == 0);
  CHECK(score_of(resend, "frame_substream") == 0);
}
