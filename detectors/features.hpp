#pragma once
/// The feature model shared by the live proxy and `distillguard replay`.
/// Everything here is plain data: no text of the prompt is kept, only
/// counts, hashes and signatures derived from it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dg::detectors {

/// Which API surface a request addressed.
enum class Endpoint : std::uint8_t { ChatCompletions, Completions, Responses, Embeddings, Messages, Models, Other };

/// Maps a request path (query string allowed) to its endpoint.
Endpoint endpoint_from_path(std::string_view path) noexcept;
std::string_view to_string(Endpoint endpoint) noexcept;

/// The prompt text a request carries, as extracted from its JSON body.
/// Lives only for the duration of feature extraction; never stored or logged.
struct PromptText {
  std::string system;     ///< system / developer instructions (joined)
  std::string last_user;  ///< text of the last user turn (or `prompt` / `input`)
};

/// What the prompt text says, reduced to numbers and hashes.
struct PromptFeatures {
  std::uint64_t template_signature = 0;  ///< SimHash of masked word shingles; slots (numbers, quotes) do not change it
  std::uint64_t system_prompt_hash = 0;  ///< 0 when there is no system prompt
  std::uint32_t normalized_chars = 0;    ///< length of the normalized last user turn
  /// Hash of the whole normalized last user turn (slots included; 0 when
  /// empty). Distinct content hashes under one template signature are the
  /// variety of the filled-in slots (a wrapper walked over a data set).
  std::uint64_t content_hash = 0;
  std::uint8_t reasoning_markers = 0;    ///< step-by-step lexicon hits (capped at 255)
  bool asks_reasoning_for_answer = false;  ///< asks for the reasoning behind a given or completed answer
  /// Stronger subset of asks_reasoning_for_answer: the user turn itself
  /// states the answer and asks to explain/justify/derive it (rationale
  /// harvesting).
  /// CoT-harvest phrasing without a stated answer ("reason step by step and
  /// put the final answer in \boxed{}") is asks_reasoning_for_answer only:
  /// eval harnesses use it too.
  bool states_answer = false;
};

/// Request-side features of one exchange.
struct RequestFeatures {
  Endpoint endpoint = Endpoint::Other;
  bool body_is_json = false;       ///< false: body absent or not JSON (forwarded untouched, counted)
  std::string model;
  std::uint32_t messages = 0;      ///< number of messages / input items
  std::uint32_t system_turns = 0;
  std::uint32_t user_turns = 0;
  std::uint32_t assistant_turns = 0;  ///< > 0 means earlier assistant turns are present (continuity)
  std::uint32_t tool_turns = 0;       ///< tool / function result turns
  bool has_tools = false;             ///< tools / functions declared
  std::uint64_t prompt_chars = 0;     ///< characters of all prompt text
  std::optional<std::int64_t> max_tokens;  ///< max_tokens / max_completion_tokens / max_output_tokens
  std::uint32_t n = 1;
  std::optional<double> temperature;
  std::optional<double> top_p;
  bool stream = false;
  bool logprobs = false;              ///< logprobs requested (chat bool or completions int > 0)
  std::uint32_t top_logprobs = 0;     ///< top_logprobs (chat) or logprobs N (completions)
  std::uint32_t logit_bias_size = 0;  ///< entries in logit_bias
  std::uint64_t logit_bias_hash = 0;  ///< order-independent hash of the biased token ids; 0 when none
  std::string reasoning_effort;       ///< reasoning_effort / reasoning.effort ("", "low", "medium", "high", ...)
  std::uint32_t thinking_budget = 0;  ///< Anthropic `thinking.budget_tokens`
  PromptFeatures prompt;              ///< filled by PromptAnalyzer
};

/// Response-side features of one exchange.
struct ResponseFeatures {
  int status = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  bool usage_estimated = false;  ///< true when the upstream reported no usage and the proxy estimated it
  double latency_ms = 0;
};

/// One finished request/response exchange, as the detection engine sees it.
struct Exchange {
  double ts = 0;              ///< event time, Unix seconds
  std::string key_fp;         ///< "fp:" + 16 hex digits
  std::string client_ip;      ///< after trusted-proxy handling; may be empty
  std::string user_agent;
  std::string method = "POST";
  std::string path = "/v1/chat/completions";
  std::string tenant;         ///< tenant header value, if configured; may be empty
  RequestFeatures request;
  ResponseFeatures response;
};

/// The exchange's prompt tokens: the upstream's usage, or ~4 characters per
/// token when usage is missing (an upstream without usage, a failed request).
inline std::uint64_t prompt_tokens_of(const Exchange& ex) noexcept {
  return ex.response.prompt_tokens > 0 ? ex.response.prompt_tokens : ex.request.prompt_chars / 4;
}

}  // namespace dg::detectors
