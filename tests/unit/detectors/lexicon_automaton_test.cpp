#include <catch2/catch.hpp>

#include <array>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "detectors/lexicon_automaton.hpp"

using dg::detectors::ReasoningLexicon;
using namespace dg::detectors::prompt;

namespace {

/// Overlapping phrases over a two-letter alphabet, one per list: every
/// suffix link and word-start rule of the automaton is exercised.
ReasoningLexicon tiny_lexicon() {
  ReasoningLexicon lex;
  lex.step_by_step = {"ab"};
  lex.answer_reasoning = {"bab"};
  lex.given_answer = {"a b"};
  lex.explain = {"bb", "abba"};
  lex.cot_harvest = {"ba"};
  return lex;
}

using Counts = std::array<unsigned, kKinds>;

/// Phrase ends of one pass by brute force: a phrase counts where " " + phrase
/// ends in " " + text (the text is fed with a leading separator and phrases
/// starting with a letter match at word starts only).
std::vector<std::pair<std::size_t, Counts>> reference(const std::string& text) {
  const std::array<std::pair<const char*, LexiconKind>, 6> phrases{
      {{"ab", kStep}, {"bab", kAnswer}, {"a b", kGiven}, {"bb", kExplain}, {"abba", kExplain}, {"ba", kCot}}};
  const std::string padded = " " + text;
  std::vector<std::pair<std::size_t, Counts>> out;
  for (std::size_t end = 1; end <= text.size(); ++end) {
    Counts counts{};
    bool any = false;
    for (const auto& [p, kind] : phrases) {
      const std::string needle = std::string(" ") + p;
      if (end + 1 >= needle.size() && padded.compare(end + 1 - needle.size(), needle.size(), needle) == 0) {
        ++counts[kind];
        any = true;
      }
    }
    if (any) out.emplace_back(end, counts);
  }
  return out;
}

template <unsigned Lanes>
std::vector<std::pair<std::size_t, Counts>> scanned(const LexiconAutomaton& a, const std::string& text) {
  std::array<std::vector<std::pair<std::size_t, Counts>>, Lanes> lanes;
  a.scan<Lanes>(text, [&](unsigned lane, std::size_t state, std::size_t end) {
    Counts counts{};
    for (std::size_t k = 0; k < kKinds; ++k) counts[k] = a.out[state][k];
    lanes[lane].emplace_back(end, counts);
  });
  std::vector<std::pair<std::size_t, Counts>> all;
  for (const auto& l : lanes) all.insert(all.end(), l.begin(), l.end());
  return all;
}

}  // namespace

TEST_CASE("lexicon automaton: every phrase end exactly once, in text order, with 1, 2 or 4 lanes", "[detectors]") {
  const LexiconAutomaton a(tiny_lexicon());
  CHECK(a.max_len == 5);  // " abba"
  std::mt19937 rng(7);
  const char alphabet[] = {'a', 'b', 'b', ' '};
  for (std::size_t len = 0; len <= 300; ++len) {
    std::string text;
    for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % 4];
    INFO("text \"" << text << "\"");
    const auto want = reference(text);
    CHECK(scanned<1>(a, text) == want);
    CHECK(scanned<2>(a, text) == want);
    CHECK(scanned<4>(a, text) == want);
  }
}

TEST_CASE("lexicon automaton: phrases starting with a letter match at word starts only", "[detectors]") {
  const LexiconAutomaton a(tiny_lexicon());
  auto ends = [&](const std::string& text) {
    std::vector<std::size_t> out;
    for (const auto& [end, counts] : scanned<1>(a, text)) out.push_back(end);
    return out;
  };
  CHECK(ends("ab").size() == 1);
  CHECK(ends("cab").empty());   // 'c' is no separator: inside a word
  CHECK(ends("c,ab") == std::vector<std::size_t>{4});  // ',' is one
  CHECK(ends("xbab").empty());
}

TEST_CASE("lexicon automaton: answer labels are normalized, wide ones marked", "[detectors]") {
  ReasoningLexicon lex;
  lex.answer_labels = {"Final  Answer", "正确答案", ""};
  const LexiconAutomaton a(lex);
  REQUIRE(a.labels.size() == 2);
  CHECK(a.labels[0].text == "final answer");
  CHECK_FALSE(a.labels[0].wide);
  CHECK(a.labels[1].text == "正确答案");
  CHECK(a.labels[1].wide);
}
