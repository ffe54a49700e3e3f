#pragma once
/// Phrase lists that recognise reasoning elicitation in prompt text, in
/// several languages. Supplied by config (`detection.lexicon`); the built-in
/// default covers English, Chinese, Spanish, French, German, Russian,
/// Japanese, Portuguese and Korean.
///
/// Matching is substring matching on the normalized text (see
/// PromptAnalyzer): ASCII and Latin/Cyrillic letters lowercased, whitespace
/// collapsed. A phrase that starts with an ASCII letter must start at a word
/// boundary ("justify" does not match inside "unjustify").

#include <string>
#include <vector>

namespace dg::detectors {

struct ReasoningLexicon {
  /// Asks for step-by-step reasoning ("step by step", "show your work",
  /// "一步一步", "paso a paso"). Counted in PromptFeatures::reasoning_markers.
  std::vector<std::string> step_by_step;
  /// Phrases that by themselves ask for the reasoning behind a given or
  /// completed answer, or harvest a chain of thought with a checkable final
  /// answer ("explain why the answer is", "show the reasoning that leads to",
  /// "put your final answer within \boxed").
  std::vector<std::string> answer_reasoning;
  /// Like answer_reasoning, but without a stated answer: chain-of-thought
  /// harvest phrasing ("put your final answer within \boxed{}") that eval
  /// harnesses use as well. Sets asks_reasoning_for_answer, not states_answer.
  std::vector<std::string> cot_harvest;
  /// Cues that the prompt states an answer ("the answer is", "答案是").
  /// A cue that is negated or conditional - one of "if", "unless",
  /// "whether", "when", "not", "cannot", ... among the three words before
  /// it, or "not"/"n't"/"unknown"/"missing" right after it ("if the answer
  /// is not in the context, say so") - states nothing and is not counted;
  /// answer_reasoning phrases after such a condition are dropped as well.
  std::vector<std::string> given_answer;
  /// Requests for an explanation ("explain", "justify", "derive", "why").
  /// A user turn with exactly one given-answer cue states an answer and asks
  /// for its reasoning (states_answer) when a demand for reasoning - an
  /// explain cue or a step-by-step ask - is within 160 bytes of it in the
  /// user turn, or when the system prompt has one and the answer closes the
  /// user turn (within its last 160 bytes). A demand elsewhere (a retrieved
  /// document) does not count. One given-answer cue with a step-by-step
  /// marker farther away sets asks_reasoning_for_answer.
  /// Two or more given-answer cues look like few-shot exemplars (an eval
  /// harness' "... The answer is 6." examples) and do not count.
  std::vector<std::string> explain;
  /// Labels of a stated value ("answer", "solution", "result"): a line
  /// "<label>: <value>" (up to three words before the label, "correct
  /// answer: 660") whose value is short (at most four words) and has a
  /// digit is a given-answer cue as well. A label with nothing after it
  /// (an eval template closing on "Answer:") or a placeholder ("Answer:
  /// $ANSWER") states nothing. Matched as whole words.
  std::vector<std::string> answer_labels;

  /// The built-in multi-language default.
  static ReasoningLexicon defaults();
};

}  // namespace dg::detectors
