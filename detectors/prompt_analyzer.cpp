#include "detectors/prompt_analyzer.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "detectors/hash.hpp"
#include "detectors/lexicon_automaton.hpp"
#include "detectors/template_signature.hpp"
#include "detectors/text_normalize.hpp"

namespace dg::detectors {

using prompt::kAnswer;
using prompt::kCot;
using prompt::kExplain;
using prompt::kGiven;
using prompt::kKinds;
using prompt::kStep;

namespace {

/// A demand for reasoning counts for a stated answer within this many bytes
/// of it (one or two sentences: "The answer is 18. Explain why.").
constexpr std::uint32_t kExplainNearBytes = 160;

/// Moves `pos` back to the start of a UTF-8 sequence.
std::size_t utf8_floor(std::string_view s, std::size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

}  // namespace

PromptAnalyzer::PromptAnalyzer(const ReasoningLexicon& lexicon, std::size_t max_scan_bytes)
    : automaton_(std::make_unique<prompt::LexiconAutomaton>(lexicon)),
      max_scan_bytes_(std::max<std::size_t>(max_scan_bytes, 256)) {}

PromptAnalyzer::~PromptAnalyzer() = default;

/// Lexicon hits of one text with the positions of the cues that decide
/// states_answer (a few of each; prompts state one answer).
struct PromptAnalyzer::Cues {
  static constexpr std::size_t kMaxPos = 8;
  LexiconHits hits;
  unsigned given = 0;     ///< given-answer cues that are neither negated nor conditional
  unsigned answer = 0;    ///< answer-reasoning phrases that are not conditional
  std::array<std::uint32_t, kMaxPos> given_at{};
  std::array<std::uint32_t, kMaxPos> explain_at{};  ///< demands for reasoning: explain words and step-by-step asks
  unsigned explains = 0;
};

namespace {

/// Words that, among the three before a cue, make it a condition or a
/// negation ("if the answer is not in the context", "unless the answer is
/// known", "you cannot derive the answer"): an instruction about what to do
/// when there is no answer, not a stated answer.
bool conditional_before(std::string_view text, std::size_t start) {
  static constexpr std::string_view kWords[] = {"if", "unless", "whether", "when", "not", "no", "cannot", "can't",
                                                "don't", "doesn't", "never", "without", "neither", "nor", "si",
                                                "wenn", "falls", "если", "如果", "若"};
  std::size_t end = start;
  for (int word = 0; word < 3 && end > 0; ++word) {
    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == ',')) --end;
    std::size_t b = end;
    while (b > 0 && text[b - 1] != ' ' && text[b - 1] != '\n') --b;
    std::string_view w = text.substr(b, end - b);
    for (auto k : kWords)
      if (w == k || (static_cast<unsigned char>(k.front()) >= 0x80 && w.ends_with(k))) return true;
    end = b;
  }
  return false;
}

/// A negation right after a given-answer cue ("the answer is not in the
/// context", "the answer isn't known", "the answer is unknown").
bool negated_after(std::string_view text, std::size_t end) {
  std::string_view rest = text.substr(end, 24);
  if (rest.starts_with("n't") || rest.starts_with("n\xE2\x80\x99t")) return true;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  static constexpr std::string_view kWords[] = {"not ", "not.", "not,", "unknown", "missing", "unclear", "unavailable",
                                                "nicht", "pas ", "no es", "не "};
  for (auto k : kWords)
    if (rest.starts_with(k)) return true;
  return false;
}

}  // namespace

PromptAnalyzer::LexiconHits PromptAnalyzer::scan(std::string_view normalized) const {
  Cues cues;
  scan_cues(normalized, cues);
  return cues.hits;
}

void PromptAnalyzer::labelled_answers(std::string_view text, Cues& cues) const {
  const auto& labels = automaton_->labels;
  if (labels.empty()) return;
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '.')) v.remove_suffix(1);
    return v;
  };
  auto words = [](std::string_view v) { return std::count(v.begin(), v.end(), ' ') + 1; };
  constexpr std::string_view kWideColon = "\xEF\xBC\x9A";  // "："
  constexpr std::size_t kMaxHeadBytes = 64;
  constexpr long kMaxWords = 4;  // of the head and of the value
  for (std::size_t line = 0; line < text.size();) {
    std::size_t eol = text.find('\n', line);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view l = text.substr(line, eol - line);
    line = eol + 1;
    // The label ends at the first colon (ASCII or wide) of a short head.
    const std::string_view probe = l.substr(0, kMaxHeadBytes + kWideColon.size());
    std::size_t colon = probe.find(':');
    std::size_t colon_len = 1;
    if (const auto wide = probe.find(kWideColon); wide < colon) {
      colon = wide;
      colon_len = kWideColon.size();
    }
    if (colon > kMaxHeadBytes) continue;
    const std::string_view head = trim(l.substr(0, colon));
    if (head.empty() || words(head) > kMaxWords) continue;
    const std::size_t space = head.rfind(' ');
    const std::string_view last = space == std::string_view::npos ? head : head.substr(space + 1);
    const bool labelled = std::any_of(labels.begin(), labels.end(), [&](const auto& label) {
      return last == label.text || (label.wide && last.ends_with(label.text));
    });
    if (!labelled) continue;
    // The value: a few words with a digit ("660", "$9", "x = 3").
    const std::string_view value = trim(l.substr(colon + colon_len));
    if (value.empty() || words(value) > kMaxWords ||
        std::none_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (cues.given < Cues::kMaxPos) cues.given_at[cues.given] = static_cast<std::uint32_t>(eol);
    ++cues.given;
  }
}

void PromptAnalyzer::scan_cues(std::string_view normalized, Cues& cues) const {
  // Each extra lane rereads max_len + 1 bytes before its part; from about
  // 128 bytes four lanes already finish sooner than one, from 64 two.
  if (normalized.size() >= 128) scan_lanes<4>(normalized, cues);
  else if (normalized.size() >= 64) scan_lanes<2>(normalized, cues);
  else scan_lanes<1>(normalized, cues);
}

template <unsigned Lanes>
void PromptAnalyzer::scan_lanes(std::string_view normalized, Cues& cues) const {
  const auto& a = *automaton_;
  std::array<unsigned, kKinds> hits{};
  std::array<Cues, Lanes> found{};
  a.scan<Lanes>(normalized, [&](unsigned lane, std::size_t state, std::size_t end) {
    Cues& c = found[lane];
    const auto& o = a.out[state];
    for (std::size_t k = 0; k < kKinds; ++k) hits[k] += o[k];
    if (o[kGiven] || o[kAnswer]) {
      const std::size_t len = std::max(a.len[state][kGiven], a.len[state][kAnswer]);
      const bool cond = conditional_before(normalized, end >= len ? end - len : 0);
      if (o[kAnswer] && !cond) ++c.answer;
      if (o[kGiven] && !cond && !negated_after(normalized, end)) {
        if (c.given < Cues::kMaxPos) c.given_at[c.given] = static_cast<std::uint32_t>(end);
        ++c.given;
      }
    }
    // A step-by-step ask demands reasoning as an explain word does ("the
    // result is 38. reconstruct the step-by-step solution").
    if ((o[kExplain] || o[kStep]) && c.explains < Cues::kMaxPos)
      c.explain_at[c.explains++] = static_cast<std::uint32_t>(end);
  });
  // Lanes in text order: positions stay sorted as one pass would record them.
  for (const Cues& c : found) {
    cues.answer += c.answer;
    for (unsigned k = 0; k < std::min<unsigned>(c.given, Cues::kMaxPos); ++k) {
      if (cues.given < Cues::kMaxPos) cues.given_at[cues.given] = c.given_at[k];
      ++cues.given;
    }
    if (c.given > Cues::kMaxPos) cues.given += c.given - Cues::kMaxPos;
    for (unsigned k = 0; k < c.explains && cues.explains < Cues::kMaxPos; ++k)
      cues.explain_at[cues.explains++] = c.explain_at[k];
  }
  cues.hits = LexiconHits{hits[kStep], hits[kAnswer], hits[kCot], hits[kGiven], hits[kExplain]};
}

PromptFeatures PromptAnalyzer::analyze(const PromptText& text) const {
  // One buffer per thread that only grows: no allocation and no zero-fill
  // per prompt.
  thread_local std::vector<char> buffer;
  // Head and tail of a long text: up to max_scan_bytes + 3 bytes (the tail
  // starts on a UTF-8 boundary) and the "\n\n" between them.
  auto room_for = [&](std::size_t raw) { return prompt::normalized_room(std::min(raw, max_scan_bytes_) + 4) + 8; };
  const std::size_t sys_room = room_for(text.system.size());
  const std::size_t room = sys_room + room_for(text.last_user.size());
  if (buffer.size() < room) buffer.resize(std::max(room, 2 * buffer.size()));
  std::size_t skipped = 0;
  auto bounded = [&](std::string_view raw, char* out) -> std::string_view {
    if (raw.size() <= max_scan_bytes_) return {out, prompt::normalize_into(raw, out, true)};
    const std::size_t head = utf8_floor(raw, max_scan_bytes_ * 3 / 4);
    const std::size_t tail = utf8_floor(raw, raw.size() - max_scan_bytes_ / 4);
    std::size_t n = prompt::normalize_into(raw.substr(0, head), out, true);
    out[n++] = '\n';
    out[n++] = '\n';
    n += prompt::normalize_into(raw.substr(tail), out + n, true);
    skipped += tail - head;
    return {out, n};
  };
  const std::string_view sys = bounded(text.system, buffer.data());
  skipped = 0;
  const std::string_view user = bounded(text.last_user, buffer.data() + sys_room);
  PromptFeatures f;
  if (!sys.empty()) {
    // Digits are folded so that a date or a counter in a system prompt does
    // not change its hash.
    // (A branch-free fold the compiler vectorizes, then a word-wise hash.)
    thread_local std::string folded;
    folded.resize(sys.size());
    for (std::size_t i = 0; i < sys.size(); ++i) {
      const auto c = static_cast<unsigned char>(sys[i]);
      folded[i] = static_cast<char>(static_cast<unsigned char>(c - '0') < 10 ? '0' : c);
    }
    f.system_prompt_hash = hash_text(folded) | 1;
  }
  f.normalized_chars = static_cast<std::uint32_t>(std::min<std::size_t>(user.size() + skipped, UINT32_MAX));
  f.content_hash = user.empty() ? 0 : (hash_text(user) | 1);

  Cues cs, cu;
  scan_cues(sys, cs);
  scan_cues(user, cu);
  labelled_answers(user, cu);
  const auto& hs = cs.hits;
  const auto& hu = cu.hits;
  const unsigned step = hs.step_by_step + hu.step_by_step;
  const unsigned answer = cs.answer + cu.answer;
  const unsigned given = cs.given + cu.given;
  const unsigned cot = hs.cot_harvest + hu.cot_harvest;
  f.reasoning_markers = static_cast<std::uint8_t>(std::min(255U, step));
  // A stated answer comes from the user's own framing: one given-answer cue
  // in the user turn (negated or conditional cues - "if the answer is not in
  // the context" - never count), with the demand for its reasoning either
  // next to it in the user turn, or as a standing instruction in the system
  // prompt while the answer closes a short user turn. An explain word
  // somewhere in a retrieved document far from the cue is not a demand.
  bool near = false;
  if (cu.given == 1) {
    const std::uint32_t g = cu.given_at[0];
    for (unsigned i = 0; i < std::min<unsigned>(cu.explains, Cues::kMaxPos); ++i) {
      const std::uint32_t e = cu.explain_at[i];
      if ((e > g ? e - g : g - e) <= kExplainNearBytes) near = true;
    }
    if (!near && cs.explains > 0 && user.size() - g <= kExplainNearBytes) near = true;
  }
  f.states_answer = cu.answer > 0 || (cu.given == 1 && cs.given == 0 && near);
  f.asks_reasoning_for_answer = f.states_answer || answer > 0 || cot > 0 || (given == 1 && step > 0);
  f.template_signature = prompt::template_signature(user);
  return f;
}

}  // namespace dg::detectors
