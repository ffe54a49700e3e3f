#pragma once
/// Reduces prompt text to PromptFeatures: a template signature, a
/// system-prompt hash and reasoning-elicitation markers. The text is read
/// once and never stored.
///
/// The parts, one file each: text_normalize.hpp (normalization),
/// lexicon_automaton.hpp (the phrase matcher), template_signature.hpp (the
/// template signature and why it is robust to filled-in slots). This class
/// composes them and reads the reasoning cues out of the lexicon hits.
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

namespace prompt {
struct LexiconAutomaton;
}  // namespace prompt

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

 private:
  struct Cues;
  /// scan() that also records where given-answer, answer-reasoning and
  /// explain cues are, dropping negated or conditional given-answer cues.
  void scan_cues(std::string_view normalized, Cues& cues) const;
  /// Adds the labelled values of a normalized user turn ("correct answer:
  /// 660"; ReasoningLexicon::answer_labels) to its given-answer cues.
  void labelled_answers(std::string_view normalized, Cues& cues) const;
  /// scan_cues() with the automaton read in `Lanes` parts at once.
  template <unsigned Lanes>
  void scan_lanes(std::string_view normalized, Cues& cues) const;
  std::unique_ptr<prompt::LexiconAutomaton> automaton_;
  std::size_t max_scan_bytes_;
};

}  // namespace dg::detectors
