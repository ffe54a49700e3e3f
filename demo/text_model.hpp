#pragma once
/// Deterministic "model" behind the demo upstream: the same prompt always
/// yields the same tokens, log probabilities and embeddings, so that tests can
/// compare a streamed answer with a non-streamed one, or a proxied answer with
/// a direct one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dg::demo {

/// FNV-1a 64-bit hash of `text`, continued from `seed`.
std::uint64_t hash_text(std::string_view text, std::uint64_t seed = 0xcbf29ce484222325ULL) noexcept;

/// SplitMix64 step: a well-mixed 64-bit value derived from `x`.
std::uint64_t mix64(std::uint64_t x) noexcept;

/// Prompt tokens as OpenAI-style tokenizers roughly count them: one per four
/// characters, at least one for a non-empty prompt.
std::int64_t estimate_tokens(std::size_t chars) noexcept;

/// The default answer length for `seed` when neither the request nor the
/// server options fix it: 20..79 tokens.
std::int64_t default_completion_tokens(std::uint64_t seed) noexcept;

/// `count` text tokens for `seed`: the first without a leading space, the
/// others " word", with a period closing every sentence of 6..13 words.
std::vector<std::string> generate_tokens(std::uint64_t seed, std::int64_t count);

/// Log probability (in (-2.5, 0]) of token `index` of the answer for `seed`.
double token_logprob(std::uint64_t seed, std::int64_t index) noexcept;

/// One alternative candidate for a token position.
struct TokenAlternative {
  std::string token;
  double logprob = 0.0;
};

/// The `k` most likely candidates at position `index`: the chosen token first
/// (with `token_logprob`), then other words in decreasing probability.
std::vector<TokenAlternative> top_alternatives(std::uint64_t seed, std::int64_t index, const std::string& chosen,
                                               std::int64_t k);

/// A unit-length embedding of `text` with `dims` components.
std::vector<float> embed_text(std::string_view text, std::size_t dims);

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(const void* data, std::size_t size);

}  // namespace dg::demo
