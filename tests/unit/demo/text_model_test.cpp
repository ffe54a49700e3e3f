#include "demo/text_model.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace dg::demo;

TEST_CASE("demo text model: base64 matches RFC 4648 test vectors", "[demo]") {
  auto b64 = [](std::string_view s) { return base64_encode(s.data(), s.size()); };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
}

TEST_CASE("demo text model: tokens are deterministic, sized and prose-like", "[demo]") {
  const auto a = generate_tokens(42, 30);
  const auto b = generate_tokens(42, 30);
  const auto c = generate_tokens(43, 30);
  REQUIRE(a.size() == 30);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a.front().front() != ' ');
  for (std::size_t i = 1; i < a.size(); ++i) CHECK(a[i].front() == ' ');
  CHECK(a.back().back() == '.');
  CHECK(generate_tokens(42, 0).empty());
  // A shorter answer is a prefix of a longer one (max_tokens truncates).
  const auto shortened = generate_tokens(42, 10);
  for (std::size_t i = 0; i + 1 < shortened.size(); ++i) CHECK(shortened[i] == a[i]);
}

TEST_CASE("demo text model: token estimates, logprobs and embeddings", "[demo]") {
  CHECK(estimate_tokens(0) == 0);
  CHECK(estimate_tokens(1) == 1);
  CHECK(estimate_tokens(400) == 100);
  for (std::uint64_t s = 0; s < 50; ++s) {
    const auto n = default_completion_tokens(s);
    CHECK(n >= 20);
    CHECK(n < 80);
  }
  const auto alts = top_alternatives(7, 3, " word", 5);
  REQUIRE(alts.size() == 5);
  CHECK(alts[0].token == " word");
  CHECK(alts[0].logprob == token_logprob(7, 3));
  for (std::size_t i = 1; i < alts.size(); ++i) CHECK(alts[i].logprob < alts[i - 1].logprob);
  CHECK(top_alternatives(7, 3, "x", 0).empty());

  const auto e = embed_text("hello", 64);
  REQUIRE(e.size() == 64);
  double norm = 0;
  for (float x : e) norm += static_cast<double>(x) * x;
  CHECK(std::sqrt(norm) == Approx(1.0).epsilon(1e-5));
  CHECK(embed_text("hello", 64) == e);
  CHECK(embed_text("hellO", 64) != e);
}
