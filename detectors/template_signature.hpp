#pragma once
/// The template signature of a prompt (internal to PromptAnalyzer; header
/// shared with the tests).
///
/// Why it is robust: the text is normalized (lowercase, whitespace
/// collapsed) and tokenized; then everything that is typically a *filled-in
/// slot* is replaced by a placeholder token before hashing:
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
/// Thread-safety: pure functions (template_signature keeps thread-local
/// scratch buffers).

#include <cstdint>
#include <string_view>

namespace dg::detectors::prompt {

/// The signature of text already normalized with keep_lines = true; 0 for
/// text without words, never 0 otherwise.
std::uint64_t template_signature(std::string_view normalized);

/// Hamming distance of two signatures (0..64).
int signature_distance(std::uint64_t a, std::uint64_t b) noexcept;

}  // namespace dg::detectors::prompt
