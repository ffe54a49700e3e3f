#pragma once
/// Reduces prompt text to PromptFeatures: a template signature, a
/// system-prompt hash and reasoning-elicitation markers. The text is read
/// once and never stored.
///
/// Template signature (why it is robust): the text is normalized (lowercase,
/// whitespace collapsed) and tokenized; then everything that is typically a
/// *filled-in slot* is replaced by a placeholder token before hashing:
///   - any token containing a digit -> <n> (numbers, ids, dates, prices);
///   - quoted spans ("...", “...”, «...», 「...」, `...`, ``` blocks) -> <q>;
///   - the content after a short line header ("Question: ...", "Review:",
///     "Text:\n<several lines>") -> <s>;
///   - in a multi-paragraph prompt that also has a short instruction
///     paragraph, paragraphs longer than 25 words -> <p> (the long pasted
///     document or question inside an instruction wrapper); with three or
///     more paragraphs every middle paragraph -> <p> (instruction / data /
///     output cue: the data in the middle is the slot).
/// What remains is the frame of the template. Its 64-bit SimHash over word
/// 3-shingles is identical when only slots change, and stays within a few
/// bits of Hamming distance under small edits of the frame (SimHash
/// preserves cosine similarity of the shingle sets). A single-paragraph
/// prompt without headers or quotes (a plain chat question) is all content,
/// so unrelated prompts get unrelated signatures.
///
/// Cost: O(scanned bytes). Text longer than `max_scan_bytes` is scanned at its
/// head (3/4) and tail (1/4): template frames and reasoning asks sit at the
/// start or the end of a prompt, not inside a pasted 50 kB document.
///
/// Thread-safety: immutable after construction; `analyze` may be called from
/// any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "detectors/features.hpp"
#include "detectors/reasoning_lexicon.hpp"

namespace dg::detectors {

class PromptAnalyzer {
 public:
  explicit PromptAnalyzer(const ReasoningLexicon& lexicon, std::size_t max_scan_bytes = 2048);
  ~PromptAnalyzer();
  PromptAnalyzer(const PromptAnalyzer&) = delete;
  PromptAnalyzer& operator=(const PromptAnalyzer&) = delete;

  PromptFeatures analyze(const PromptText& text) const;

  /// Lexicon hit counts of one text (exposed for tests and diagnostics).
  struct LexiconHits {
    unsigned step_by_step = 0;
    unsigned answer_reasoning = 0;
    unsigned cot_harvest = 0;
    unsigned given_answer = 0;
    unsigned explain = 0;
  };
  LexiconHits scan(std::string_view normalized) const;

  /// Normalization used everywhere: ASCII, Latin-1 and Cyrillic capitals
  /// lowercased, runs of spaces/tabs -> one space, line breaks kept (at most
  /// one blank line) when `keep_lines`, otherwise folded into the space.
  /// Invalid UTF-8 is passed through unchanged. Appends to `out`.
  static void normalize(std::string_view in, std::string& out, bool keep_lines);

  /// The template signature of already normalized text (keep_lines = true).
  static std::uint64_t template_signature(std::string_view normalized);

  /// Hamming distance of two signatures (0..64).
  static int distance(std::uint64_t a, std::uint64_t b) noexcept;

 private:
  struct Automaton;
  struct Cues;
  /// scan() that also records where given-answer, answer-reasoning and
  /// explain cues are, dropping negated or conditional given-answer cues.
  void scan_cues(std::string_view normalized, Cues& cues) const;
  /// Adds the labelled values of a normalized user turn ("correct answer:
  /// 660"; ReasoningLexicon::answer_labels) to its given-answer cues.
  void labelled_answers(std::string_view normalized, Cues& cues) const;
  /// normalize() into a buffer with room for the result (see the .cpp);
  /// returns the length written.
  static std::size_t normalize_into(std::string_view in, char* out, bool keep_lines) noexcept;
  template <unsigned Lanes>
  void scan_lanes(std::string_view normalized, Cues& cues) const;
  std::unique_ptr<Automaton> automaton_;
  std::size_t max_scan_bytes_;
};

}  // namespace dg::detectors
