#pragma once
/// Prompt text normalization (internal to PromptAnalyzer; header shared with
/// the lexicon automaton and the tests): ASCII, Latin-1 and Cyrillic capitals
/// lowercased, runs of spaces/tabs -> one space, line breaks kept (at most one
/// blank line) when `keep_lines`, otherwise folded into the space. Invalid
/// UTF-8 is passed through unchanged. ASCII text is handled sixteen bytes at a
/// time (SSE2 on x86-64, a plain loop elsewhere).
///
/// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

namespace dg::detectors::prompt {

/// Room normalize_into needs for `in` bytes: output is never longer than the
/// input plus one extra byte per collapsed paragraph break, and sixteen bytes
/// of slack let a block store run past the end.
constexpr std::size_t normalized_room(std::size_t in) noexcept { return in + in / 2 + 2 + 16; }

/// Normalizes `in` into `out`, which must have normalized_room(in.size())
/// bytes; returns the length written.
std::size_t normalize_into(std::string_view in, char* out, bool keep_lines) noexcept;

/// Normalizes `in` and appends the result to `out`.
void normalize(std::string_view in, std::string& out, bool keep_lines);

}  // namespace dg::detectors::prompt
