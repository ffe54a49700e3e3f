#include "detectors/lexicon_automaton.hpp"

#include <deque>
#include <stdexcept>
#include <utility>

#include "detectors/text_normalize.hpp"

namespace dg::detectors::prompt {

namespace {

bool is_ascii_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

}  // namespace

LexiconAutomaton::LexiconAutomaton(const ReasoningLexicon& lex) {
  for (const auto& raw : lex.answer_labels) {
    std::string p;
    normalize(raw, p, false);
    if (!p.empty()) {
      const bool wide = static_cast<unsigned char>(p.front()) >= 0x80;
      labels.push_back(Label{std::move(p), wide});
    }
  }
  std::array<const std::vector<std::string>*, kKinds> lists{&lex.step_by_step, &lex.answer_reasoning,
                                                            &lex.given_answer, &lex.explain, &lex.cot_harvest};
  std::vector<std::pair<std::string, LexiconKind>> phrases;
  for (std::size_t k = 0; k < kKinds; ++k) {
    for (const auto& raw : *lists[k]) {
      std::string p;
      normalize(raw, p, false);
      if (p.empty()) continue;
      phrases.emplace_back(std::move(p), static_cast<LexiconKind>(k));
    }
  }
  // Byte classes.
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    cls[c] = (is_ascii_alnum(c) || c >= 0x80) ? 1 : 0;
  }
  // Classes in byte order: ASCII bytes get the low classes, so the part of
  // a row that ASCII text reads is a few cache lines at the row's start
  // (the rows of the states text visits most stay in L1).
  std::array<bool, 256> used{};
  for (const auto& [p, k] : phrases)
    for (unsigned char c : p)
      if (c != ' ') used[c] = true;
  for (int b = 0; b < 256; ++b)
    if (used[static_cast<std::size_t>(b)] && cls[static_cast<std::size_t>(b)] <= 1)
      cls[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(classes++);
  if (classes > 255) throw std::invalid_argument("reasoning lexicon uses too many distinct bytes");

  // Trie.
  std::vector<std::vector<std::int32_t>> child;  // sparse during construction
  auto new_state = [&] {
    child.emplace_back(classes, -1);
    out.push_back({});
    len.push_back({});
    return static_cast<std::int32_t>(child.size() - 1);
  };
  new_state();
  for (const auto& [p, k] : phrases) {
    std::int32_t s = 0;
    auto step = [&](std::uint8_t c) {
      if (child[s][c] < 0) {
        auto n = new_state();
        child[s][c] = n;
      }
      s = child[s][c];
    };
    if (is_ascii_alnum(static_cast<unsigned char>(p.front()))) step(0);
    max_len = std::max(max_len, p.size() + 1);
    for (unsigned char c : p) step(cls[c]);
    if (out[s][k] < 255) ++out[s][k];
    len[s][k] = static_cast<std::uint8_t>(std::max<std::size_t>(len[s][k], std::min<std::size_t>(p.size(), 255)));
  }
  if (child.size() > 65535) throw std::invalid_argument("reasoning lexicon too large");

  // Failure links (BFS) folded into a complete transition table.
  const std::size_t n = child.size();
  next.assign(n * classes, 0);
  std::vector<std::int32_t> fail(n, 0);
  std::deque<std::int32_t> queue;
  for (std::size_t c = 0; c < classes; ++c) {
    if (child[0][c] > 0) {
      next[c] = static_cast<std::uint16_t>(child[0][c]);
      queue.push_back(child[0][c]);
    }
  }
  while (!queue.empty()) {
    const auto s = queue.front();
    queue.pop_front();
    for (std::size_t k = 0; k < kKinds; ++k) {
      out[s][k] = static_cast<std::uint8_t>(std::min(255, out[s][k] + out[fail[s]][k]));
      len[s][k] = std::max(len[s][k], len[fail[s]][k]);
    }
    for (std::size_t c = 0; c < classes; ++c) {
      const auto t = child[s][c];
      if (t > 0) {
        fail[t] = next[fail[s] * classes + c];
        next[s * classes + c] = static_cast<std::uint16_t>(t);
        queue.push_back(t);
      } else {
        next[s * classes + c] = next[fail[s] * classes + c];
      }
    }
  }
  has_out.resize(n);
  for (std::size_t s = 0; s < n; ++s)
    has_out[s] = std::any_of(out[s].begin(), out[s].end(), [](std::uint8_t v) { return v != 0; });
  start = next[0];  // after the leading separator
  while (flagged < next.size()) flagged *= 2;
  jump.reset(new std::uint32_t[flagged + next.size()]);
  for (std::size_t i = 0; i < next.size(); ++i) {
    jump[i] = static_cast<std::uint32_t>(next[i] * classes) + (has_out[next[i]] ? flagged : 0U);
    jump[flagged + i] = jump[i];
  }
}

}  // namespace dg::detectors::prompt
