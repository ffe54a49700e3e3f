#pragma once
/// The answers of the demo upstream in each API's real wire format: OpenAI
/// chat completions, legacy completions, the Responses API, embeddings and
/// Anthropic messages, as one JSON body or as the server-sent events the real
/// services stream.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "demo/demo_request.hpp"

namespace dg::demo {

/// One generated answer (one of `n`).
struct GeneratedChoice {
  std::uint64_t seed = 0;
  std::vector<std::string> tokens;
  bool truncated = false;  ///< cut by max_tokens: finish reason "length"
  std::string text() const;
};

/// Everything an answer is built from; deterministic in the request.
struct Generation {
  std::uint64_t seed = 0;  ///< hash of model and prompt
  std::string id;          ///< hex id suffix shared by the answer's events
  std::int64_t created = 0;
  std::vector<GeneratedChoice> choices;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t longest_choice = 0;  ///< tokens of the longest choice (sets the pace)
};

/// Generates the answer to `r`. `forced_tokens` (server option or the
/// x-demo-completion-tokens header) replaces the hash-derived length; either
/// way the length is capped by the request's max_tokens.
Generation generate(const DemoRequest& r, std::optional<std::int64_t> forced_tokens, std::int64_t created);

/// The non-streaming JSON body for a generating API (not embeddings).
std::string response_body(const DemoRequest& r, const Generation& g);

/// One server-sent event; `paced` events wait one token interval before they
/// are written (the ones that carry a new token).
struct SseEvent {
  std::string bytes;
  bool paced = false;
};

/// The full event sequence of a streamed answer, terminator included.
std::vector<SseEvent> stream_events(const DemoRequest& r, const Generation& g);

/// The /v1/embeddings body (float arrays or base64 float32, as asked).
std::string embeddings_body(const DemoRequest& r);

/// The GET /v1/models body.
std::string models_body(const std::vector<std::string>& models, std::int64_t created);

/// An OpenAI-shape error body {"error": {"message", "type", "code"}}.
std::string error_body(std::string_view message, std::string_view type, std::string_view code);

}  // namespace dg::demo
