#include "demo/text_model.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <cstring>

namespace dg::demo {
namespace {

// A small vocabulary is enough: the text only has to look like prose and be
// stable; its meaning is irrelevant to a proxy.
constexpr std::array<std::string_view, 96> kWords = {
    "the",       "model",     "answer",   "step",      "because",  "first",    "then",      "value",
    "we",        "can",       "see",      "that",      "result",   "is",       "a",         "of",
    "number",    "total",     "each",     "so",        "this",     "gives",    "when",      "which",
    "reason",    "follows",   "from",     "data",      "input",    "output",   "request",   "token",
    "careful",   "simple",    "clear",    "short",     "long",     "example",  "method",    "problem",
    "solution",  "check",     "again",    "also",      "more",     "less",     "than",      "two",
    "three",     "four",      "five",     "ten",       "hundred",  "per",      "rate",      "time",
    "system",    "user",      "context",  "policy",    "key",      "limit",    "stream",    "server",
    "response",  "question",  "explain",  "because",   "therefore", "thus",    "finally",   "next",
    "compute",   "add",       "multiply", "divide",    "subtract", "equals",   "sum",       "part",
    "whole",     "small",     "large",    "quick",     "slow",     "good",     "better",    "best",
    "idea",      "plan",      "write",    "read",      "list",     "item",     "order",     "end"};

std::string capitalized(std::string_view word) {
  std::string out(word);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

std::uint64_t hash_text(std::string_view text, std::uint64_t seed) noexcept {
  std::uint64_t h = seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::int64_t estimate_tokens(std::size_t chars) noexcept {
  if (chars == 0) return 0;
  return static_cast<std::int64_t>((chars + 3) / 4);
}

std::int64_t default_completion_tokens(std::uint64_t seed) noexcept {
  return 20 + static_cast<std::int64_t>(mix64(seed ^ 0x5151) % 60);
}

std::vector<std::string> generate_tokens(std::uint64_t seed, std::int64_t count) {
  std::vector<std::string> tokens;
  if (count <= 0) return tokens;
  tokens.reserve(static_cast<std::size_t>(count));
  std::uint64_t state = mix64(seed);
  std::int64_t sentence_left = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    state = mix64(state);
    const std::string_view word = kWords[state % kWords.size()];
    const bool sentence_start = sentence_left == 0;
    if (sentence_start) sentence_left = 6 + static_cast<std::int64_t>((state >> 20) % 8);
    std::string token = i == 0 ? std::string{} : std::string{" "};
    token += sentence_start ? capitalized(word) : std::string(word);
    if (--sentence_left == 0 || i + 1 == count) token += '.';
    tokens.push_back(std::move(token));
  }
  return tokens;
}

double token_logprob(std::uint64_t seed, std::int64_t index) noexcept {
  const std::uint64_t h = mix64(seed ^ mix64(static_cast<std::uint64_t>(index) + 1));
  return -static_cast<double>(h % 2500) / 1000.0;
}

std::vector<TokenAlternative> top_alternatives(std::uint64_t seed, std::int64_t index, const std::string& chosen,
                                               std::int64_t k) {
  std::vector<TokenAlternative> out;
  if (k <= 0) return out;
  const double first = token_logprob(seed, index);
  out.push_back({chosen, first});
  std::uint64_t state = mix64(seed + static_cast<std::uint64_t>(index) * 7919);
  for (std::int64_t j = 1; j < k; ++j) {
    state = mix64(state);
    std::string token = chosen.starts_with(' ') ? " " : "";
    token += kWords[state % kWords.size()];
    // Strictly decreasing, so the list reads as a ranking.
    out.push_back({std::move(token), first - 0.75 * static_cast<double>(j) - static_cast<double>(state % 100) / 1000.0});
  }
  return out;
}

std::vector<float> embed_text(std::string_view text, std::size_t dims) {
  std::vector<float> v(dims);
  std::uint64_t state = hash_text(text);
  double norm = 0.0;
  for (auto& x : v) {
    state = mix64(state);
    x = static_cast<float>(static_cast<double>(state % 20001) / 10000.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  if (norm > 0) {
    const double inv = 1.0 / std::sqrt(norm);
    for (auto& x : v) x = static_cast<float>(x * inv);
  }
  return v;
}

std::string base64_encode(const void* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t n = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (const std::size_t rest = size - i; rest > 0) {
    std::uint32_t n = std::uint32_t{p[i]} << 16;
    if (rest == 2) n |= std::uint32_t{p[i + 1]} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace dg::demo
