#pragma once
/// The four request formats a provider serves, for personas that do not
/// speak only OpenAI chat completions. A persona builds a chat-completions
/// body (messages, max_tokens, temperature, logprobs, ...) and `to_format`
/// rewrites it into the target format with that format's own fields:
///
///   Chat         /v1/chat/completions  messages, max_tokens | max_completion_tokens,
///                                      reasoning_effort, logprobs + top_logprobs, n, stream
///   Responses    /v1/responses         instructions, input (string or items),
///                                      max_output_tokens, reasoning: {effort, summary},
///                                      top_logprobs + include [...logprobs], stream
///   Completions  /v1/completions       prompt, max_tokens, logprobs: N (<= 5), echo, n
///   Messages     /v1/messages          system, messages, max_tokens (required),
///                                      thinking: {type: enabled, budget_tokens}, stream
///
/// (request_features.cpp in gateway/traffic is what reads them.)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/record.hpp"
#include "sim/rng.hpp"

namespace dg::sim {

enum class ApiFormat { Chat, Responses, Completions, Messages };
inline constexpr ApiFormat kApiFormats[] = {ApiFormat::Chat, ApiFormat::Responses, ApiFormat::Completions,
                                            ApiFormat::Messages};

/// "chat", "responses", "completions", "messages".
std::string_view to_string(ApiFormat f) noexcept;
/// The inverse of to_string; nullopt for another name.
std::optional<ApiFormat> parse_api_format(std::string_view name) noexcept;
/// The request path of the format.
std::string_view api_path(ApiFormat f) noexcept;

/// What the target format adds beyond the chat body.
struct FormatOptions {
  std::string model;             ///< replaces the body's model when not empty
  std::string reasoning_effort;  ///< chat `reasoning_effort`, responses `reasoning.effort` ("" = none)
  int thinking_budget = 0;       ///< messages: `thinking.budget_tokens` (0 = no extended thinking)
  bool echo = false;             ///< completions: `echo: true`
  int completions_logprobs = 0;  ///< completions: `logprobs: N` (0: from the chat body's top_logprobs, capped at 5)

  /// The request asks for reasoning (an effort or a thinking budget), which the
  /// format bills as output tokens.
  bool reasons() const noexcept { return !reasoning_effort.empty() || thinking_budget > 0; }
};

/// Rewrites `r.request` (a chat-completions body) into format `f` and sets
/// `r.path`. Chat stays a chat body (plus `reasoning_effort`).
void to_format(SimRecord& r, ApiFormat f, const FormatOptions& options = {});

/// A model name that the format's customers use; `reasoning` picks a
/// reasoning model (o-series / gpt-5 / Claude with thinking).
std::string format_model(ApiFormat f, bool reasoning, Rng& rng);

/// A non-reasoning OpenAI chat model (a wider choice than random_model).
std::string random_model_name(Rng& rng);

/// A common SDK user agent for the format (OpenAI SDKs for the OpenAI
/// formats, Anthropic SDKs for messages; httpx / requests now and then).
std::string sdk_user_agent(ApiFormat f, Rng& rng);

/// The options of a harvesting key on format `f`: reasoning where the format
/// has it (chat now and then, Responses `reasoning.effort` high or medium,
/// Anthropic `thinking`), legacy completions with `echo` and `logprobs: 5`.
FormatOptions extraction_format(ApiFormat f, Rng& rng);
/// Completion tokens of a harvested answer of median `median` tokens, plus
/// the reasoning tokens the format bills as output when it reasons.
std::uint64_t extraction_completion(const FormatOptions& fo, double median, Rng& rng);

/// Parses "chat:2,responses:1" (weights) or "chat+messages" (equal weights)
/// into one weight per format (order of kApiFormats). Throws
/// std::invalid_argument on an unknown format name.
std::vector<double> parse_format_weights(std::string_view spec);

}  // namespace dg::sim
