#pragma once
// Synthetic per-exchange shapes for engine tests: each distiller shape and
// each benign look-alike, with prompt features set as the analyzer would.

#include <cmath>
#include <random>
#include <string>
#include <string_view>

#include "detectors/features.hpp"
#include "detectors/finding.hpp"

namespace dg::test {

using detectors::Endpoint;
using detectors::Exchange;

/// A detector's score in an assessment; -1 when the detector was not scored.
inline double score_of(const detectors::KeyAssessment& a, std::string_view name) {
  for (const auto& f : a.scores)
    if (f.detector == name) return f.score;
  return -1;
}

inline Exchange base_exchange(const std::string& key, double ts) {
  Exchange ex;
  ex.ts = ts;
  ex.key_fp = key;
  ex.request.endpoint = Endpoint::ChatCompletions;
  ex.request.body_is_json = true;
  ex.request.model = "gpt-4o";
  ex.request.messages = 1;
  ex.request.user_turns = 1;
  ex.response.status = 200;
  return ex;
}

enum class Shape {
  ReasoningDistiller,  // GSM8K + "explain why the answer is X", long outputs
  LogprobHarvester,    // top_logprobs 20, max_tokens 1, temp 0, rotating logit_bias
  LogprobNoBias,       // the same over diverse prompts, without logit_bias
  AlpacaDistiller,     // diverse single-shot instructions, long outputs, max_tokens near cap
  EvalHarness,         // GSM8K once, temp 0, logprobs (top 5), CoT few-shot, one template
  EvalHarnessBoxed,    // same, zero-shot "\boxed{}" CoT prompt (an answer-reasoning ask)
  LoglikelihoodEval,   // completions-style scoring: max_tokens 1, logprobs 5, temp 0, one template
  BatchJob,            // one template, short outputs
  Rag,                 // long inputs, short outputs
  CodingAgent,         // multi-turn tool loops
  ChatProduct,         // multi-turn, diverse, human
};

/// The i-th exchange of a key with `shape` at time ts.
inline Exchange shaped(Shape shape, const std::string& key, double ts, std::uint64_t i, std::mt19937_64& rng) {
  auto ex = base_exchange(key, ts);
  auto& r = ex.request;
  auto& p = r.prompt;
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  switch (shape) {
    case Shape::ReasoningDistiller:
      p.template_signature = 0x1111;
      p.asks_reasoning_for_answer = true;
      p.states_answer = true;
      p.reasoning_markers = 1;
      r.max_tokens = 2048;
      r.temperature = 0.7;
      ex.response.prompt_tokens = uniform(60, 140);
      ex.response.completion_tokens = uniform(300, 900);
      break;
    case Shape::LogprobHarvester:
      p.template_signature = rng() | 1;
      r.logprobs = true;
      r.top_logprobs = 20;
      r.max_tokens = 1;
      r.temperature = 0;
      r.logit_bias_size = 50;
      r.logit_bias_hash = rng() | 1;
      ex.response.prompt_tokens = uniform(20, 200);
      ex.response.completion_tokens = 1;
      break;
    case Shape::LogprobNoBias:
      p.template_signature = rng() | 1;
      r.logprobs = true;
      r.top_logprobs = 20;
      r.max_tokens = 1;
      r.temperature = 0;
      ex.response.prompt_tokens = uniform(20, 200);
      ex.response.completion_tokens = 1;
      break;
    case Shape::AlpacaDistiller:
      p.template_signature = rng() | 1;
      r.max_tokens = 4096;
      r.temperature = 1.0;
      ex.response.prompt_tokens = uniform(15, 80);
      ex.response.completion_tokens = uniform(200, 1200);
      break;
    case Shape::EvalHarness:
      p.template_signature = 0x2222;
      p.reasoning_markers = 1;
      r.logprobs = true;
      r.top_logprobs = 5;
      r.max_tokens = 512;
      r.temperature = 0;
      ex.response.prompt_tokens = uniform(700, 900);
      ex.response.completion_tokens = uniform(80, 250);
      break;
    case Shape::EvalHarnessBoxed:
      p.template_signature = 0x3333;
      p.reasoning_markers = 1;
      p.asks_reasoning_for_answer = true;
      r.logprobs = true;
      r.top_logprobs = 5;
      r.max_tokens = 1024;
      r.temperature = 0;
      ex.response.prompt_tokens = uniform(60, 150);
      ex.response.completion_tokens = uniform(150, 400);
      break;
    case Shape::LoglikelihoodEval:
      r.endpoint = Endpoint::Completions;
      p.template_signature = 0x4444;
      r.logprobs = true;
      r.top_logprobs = 5;
      r.max_tokens = 1;
      r.temperature = 0;
      ex.response.prompt_tokens = uniform(100, 400);
      ex.response.completion_tokens = 1;
      break;
    case Shape::BatchJob:
      p.template_signature = 0x5555;
      r.max_tokens = 10;
      r.temperature = 0;
      ex.response.prompt_tokens = uniform(150, 400);
      ex.response.completion_tokens = uniform(1, 5);
      break;
    case Shape::Rag:
      p.template_signature = 0x6666;
      p.system_prompt_hash = 0x77;
      r.max_tokens = 512;
      r.temperature = 0.2;
      r.system_turns = 1;
      ex.response.prompt_tokens = uniform(3000, 9000);
      ex.response.completion_tokens = uniform(100, 400);
      break;
    case Shape::CodingAgent:
      p.template_signature = rng() | 1;
      p.system_prompt_hash = 0x88;
      r.has_tools = true;
      r.messages = 3 + static_cast<std::uint32_t>(i % 30);
      r.assistant_turns = 1 + static_cast<std::uint32_t>(i % 15);
      r.tool_turns = static_cast<std::uint32_t>(i % 15);
      r.max_tokens = 8192;
      ex.response.prompt_tokens = uniform(8000, 60000);
      ex.response.completion_tokens = uniform(50, 1500);
      break;
    case Shape::ChatProduct:
      p.template_signature = rng() | 1;
      p.system_prompt_hash = 0x99;
      r.assistant_turns = i % 4 == 0 ? 0 : uniform(1, 8);
      r.user_turns = r.assistant_turns + 1;
      r.messages = r.user_turns + r.assistant_turns + 1;
      p.reasoning_markers = i % 20 == 0;
      r.temperature = 0.7;
      ex.response.prompt_tokens = r.assistant_turns == 0 ? uniform(20, 300) : uniform(400, 4000);
      ex.response.completion_tokens = uniform(50, 700);
      break;
  }
  return ex;
}

}  // namespace dg::test
