#pragma once
/// The reasoning lexicon compiled for matching (internal to PromptAnalyzer;
/// header shared with the tests): a dense Aho-Corasick automaton over byte
/// classes that finds every phrase of every list in one pass over normalized
/// text, and the normalized answer labels.
///
/// Byte classes: class 0 is "separator" (spaces, line breaks, punctuation that
/// no phrase uses); class 1 is "other" (letters, digits and bytes that no
/// phrase uses); every byte that occurs in some phrase has its own class.
/// Phrases starting with an ASCII letter or digit are entered with a leading
/// separator, which makes them match at word starts only; the text is fed
/// with one leading separator.
///
/// Thread-safety: immutable after construction; scan() may run on any number
/// of threads at once.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/reasoning_lexicon.hpp"

namespace dg::detectors::prompt {

/// The phrase lists of a ReasoningLexicon, as indices of LexiconAutomaton::out.
enum LexiconKind : std::size_t { kStep = 0, kAnswer = 1, kGiven = 2, kExplain = 3, kCot = 4, kKinds = 5 };

struct LexiconAutomaton {
  /// Throws std::invalid_argument when the lexicon uses more than 253
  /// distinct phrase bytes or needs more than 65535 states.
  explicit LexiconAutomaton(const ReasoningLexicon& lex);

  std::array<std::uint8_t, 256> cls{};
  std::size_t classes = 2;
  std::vector<std::uint16_t> next;                      // state * classes + class
  /// The same transitions, premultiplied: entry = target * classes, plus
  /// `flagged` when the target state ends a phrase. `flagged` is a power of
  /// two above every plain entry and the table repeats from it, so an entry
  /// indexes the table as it is (one load per byte, no masking) and OR-ing
  /// the entries of a stretch of text tells whether any phrase ended in it.
  /// Only [0, states * classes) and its copy at `flagged` are written; the
  /// gap is never touched.
  std::unique_ptr<std::uint32_t[]> jump;
  std::uint32_t flagged = 1;
  std::vector<std::array<std::uint8_t, kKinds>> out;    // hits per kind ending in a state
  /// Byte length of the longest phrase of each kind ending in a state (its
  /// start is needed to read the words before a given-answer cue).
  std::vector<std::array<std::uint8_t, kKinds>> len;
  std::vector<std::uint8_t> has_out;
  std::uint16_t start = 0;
  /// Longest phrase in bytes, its leading separator included.
  std::size_t max_len = 1;

  /// ReasoningLexicon::answer_labels, normalized. ASCII labels match a whole
  /// last word of a line's head; wide (CJK) ones may close it ("正确答案").
  struct Label {
    std::string text;
    bool wide = false;
  };
  std::vector<Label> labels;

  /// Feeds normalized `text` through the automaton in `Lanes` parts read in
  /// parallel and calls on_hit(lane, state, end) for each state in which a
  /// phrase ends (`end`: the byte offset just past it), exactly once per
  /// phrase end of the whole text. Lane k reports the ends in its part, in
  /// text order; the parts are in text order by lane.
  template <unsigned Lanes, class OnHit>
  void scan(std::string_view text, OnHit&& on_hit) const;
};

template <unsigned Lanes, class OnHit>
void LexiconAutomaton::scan(std::string_view normalized, OnHit&& on_hit) const {
  // The automaton is one dependent load per byte; independent lanes over
  // parts of the text run in parallel on an out-of-order core.
  // The tables in locals: they stay in registers whatever on_hit stores.
  const std::size_t ncls = classes;
  const std::uint32_t flag = flagged;
  const std::uint32_t* jmp = jump.get();
  const std::uint8_t* cl = cls.data();
  const auto* text = reinterpret_cast<const unsigned char*>(normalized.data());
  const std::size_t n = normalized.size();
  // Lane k owns the phrases that end in (bound[k], bound[k + 1]]. It starts
  // reading max_len + 1 bytes before its part from the root state: a phrase
  // ending in the part starts after that point, so together the lanes
  // report exactly what one pass would. Lane 0 starts at the text's start
  // after the implicit leading separator.
  std::array<std::size_t, Lanes + 1> bound{};
  std::array<std::size_t, Lanes> from{};
  std::array<std::uint32_t, Lanes> off{};
  // Parts sized so that every lane reads the same number of bytes (lane 0
  // has no overlap to reread): the lanes run in lockstep to the end.
  const std::size_t overlap = max_len + 1;
  const std::size_t per_lane = (n + (Lanes - 1) * overlap + Lanes - 1) / Lanes;
  for (unsigned k = 1; k < Lanes; ++k)
    bound[k] = std::min(n, per_lane + (k - 1) * (per_lane > overlap ? per_lane - overlap : 0));
  bound[Lanes] = n;
  for (unsigned k = 0; k < Lanes; ++k) from[k] = bound[k] - std::min(bound[k], overlap);
  off[0] = static_cast<std::uint32_t>(start * ncls);
  std::size_t common = n;
  for (unsigned k = 0; k < Lanes; ++k) common = std::min(common, bound[k + 1] - from[k]);
  // Reads [begin, end) of lane k from state `o`, reporting the lane's phrases.
  auto careful = [&](unsigned k, std::uint32_t o, std::size_t begin, std::size_t end) {
    for (std::size_t pos = begin; pos < end; ++pos) {
      o = jmp[o + cl[text[pos]]];
      if ((o & flag) && pos + 1 > bound[k]) [[unlikely]]
        on_hit(k, static_cast<std::size_t>((o - flag) / ncls), pos + 1);
    }
    return o;
  };
  // Fast loop: eight bytes per lane with no test per byte; a lane in whose
  // stretch a phrase ended (rare) reads it again carefully. The lanes'
  // states and flags are separate scalars so that they stay in registers.
  constexpr std::size_t kStretch = 8;
  std::size_t t = 0;
  for (; t + kStretch <= common; t += kStretch) {
    const std::array<std::uint32_t, Lanes> before = off;
    std::uint32_t seen[Lanes];
#pragma GCC unroll 4
    for (unsigned k = 0; k < Lanes; ++k) seen[k] = 0;
    for (std::size_t u = 0; u < kStretch; ++u) {
#pragma GCC unroll 4
      for (unsigned k = 0; k < Lanes; ++k) {
        off[k] = jmp[off[k] + cl[text[from[k] + t + u]]];
        seen[k] |= off[k];
      }
    }
    std::uint32_t any = 0;
#pragma GCC unroll 4
    for (unsigned k = 0; k < Lanes; ++k) any |= seen[k];
    if (any & flag) [[unlikely]] {
      for (unsigned k = 0; k < Lanes; ++k)
        if (seen[k] & flag) careful(k, before[k], from[k] + t, from[k] + t + kStretch);
    }
  }
  for (unsigned k = 0; k < Lanes; ++k) careful(k, off[k], from[k] + t, bound[k + 1]);
}

}  // namespace dg::detectors::prompt
