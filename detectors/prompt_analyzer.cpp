#include "detectors/prompt_analyzer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <vector>

#include "detectors/hash.hpp"

namespace dg::detectors {

namespace {

enum Kind : std::size_t { kStep = 0, kAnswer = 1, kGiven = 2, kExplain = 3, kCot = 4, kKinds = 5 };

bool is_ascii_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/// Moves `pos` back to the start of a UTF-8 sequence.
std::size_t utf8_floor(std::string_view s, std::size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

}  // namespace

// A dense Aho-Corasick automaton over byte classes. Class 0 is "separator"
// (spaces, line breaks, punctuation that no phrase uses); class 1 is "other"
// (letters, digits and bytes that no phrase uses); every byte that occurs in
// some phrase has its own class. Phrases starting with an ASCII letter or
// digit are entered with a leading separator, which makes them match at word
// starts only; the text is fed with one leading separator.
struct PromptAnalyzer::Automaton {
  std::array<std::uint8_t, 256> cls{};
  std::size_t classes = 2;
  std::vector<std::uint16_t> next;                      // state * classes + class
  /// The same transitions, premultiplied: entry = target * classes, with
  /// kHasOut set when the target state ends a phrase (one load per byte).
  std::vector<std::uint32_t> jump;
  static constexpr std::uint32_t kHasOut = 0x80000000U;
  std::vector<std::array<std::uint8_t, kKinds>> out;    // hits per kind ending in a state
  /// Byte length of the longest phrase of each kind ending in a state (its
  /// start is needed to read the words before a given-answer cue).
  std::vector<std::array<std::uint8_t, kKinds>> len;
  std::vector<std::uint8_t> has_out;
  std::uint16_t start = 0;
  /// Longest phrase in bytes, its leading separator included.
  std::size_t max_len = 1;

  explicit Automaton(const ReasoningLexicon& lex) {
    std::array<const std::vector<std::string>*, kKinds> lists{&lex.step_by_step, &lex.answer_reasoning,
                                                              &lex.given_answer, &lex.explain, &lex.cot_harvest};
    std::vector<std::pair<std::string, Kind>> phrases;
    for (std::size_t k = 0; k < kKinds; ++k) {
      for (const auto& raw : *lists[k]) {
        std::string p;
        PromptAnalyzer::normalize(raw, p, false);
        if (p.empty()) continue;
        phrases.emplace_back(std::move(p), static_cast<Kind>(k));
      }
    }
    // Byte classes.
    for (int b = 0; b < 256; ++b) {
      const auto c = static_cast<unsigned char>(b);
      cls[c] = (is_ascii_alnum(c) || c >= 0x80) ? 1 : 0;
    }
    for (const auto& [p, k] : phrases)
      for (unsigned char c : p)
        if (c != ' ' && cls[c] <= 1) cls[c] = static_cast<std::uint8_t>(classes++);
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
    jump.resize(next.size());
    for (std::size_t i = 0; i < next.size(); ++i)
      jump[i] = static_cast<std::uint32_t>(next[i] * classes) | (has_out[next[i]] ? kHasOut : 0U);
  }
};

PromptAnalyzer::PromptAnalyzer(const ReasoningLexicon& lexicon, std::size_t max_scan_bytes)
    : automaton_(std::make_unique<Automaton>(lexicon)), max_scan_bytes_(std::max<std::size_t>(max_scan_bytes, 256)) {}

PromptAnalyzer::~PromptAnalyzer() = default;

namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;

/// High bit set in exactly the bytes of `x` that are zero.
constexpr std::uint64_t zero_bytes(std::uint64_t x) noexcept { return ~(((x & kLow7) + kLow7) | x | kLow7); }

/// Eight bytes that normalization leaves as they are (up to case): ASCII
/// 0x20..0x7F, spaces single, not first, not last.
constexpr bool plain_block(std::uint64_t w) noexcept {
  if ((w & kHigh) != 0 || ((w - 0x20 * kOnes) & ~w & kHigh) != 0) return false;  // >= 0x80 or < 0x20
  const std::uint64_t sp = zero_bytes(w ^ (0x20 * kOnes));
  return (sp & ((sp << 8) | 0x80ULL | (0x80ULL << 56))) == 0;
}

/// 'A'..'Z' -> 'a'..'z' in eight ASCII bytes.
constexpr std::uint64_t lowercase_block(std::uint64_t w) noexcept {
  const std::uint64_t ge_a = (w + 0x3F * kOnes) & kHigh;  // byte >= 'A'
  const std::uint64_t gt_z = (w + 0x25 * kOnes) & kHigh;  // byte > 'Z'
  return w | ((ge_a & ~gt_z) >> 2);
}

}  // namespace

void PromptAnalyzer::normalize(std::string_view in, std::string& out, bool keep_lines) {
  enum Pending { None, Space, Newline, Blank };
  Pending pending = None;
  const std::size_t begin = out.size();
  // Output is never longer than input plus one extra byte per collapsed
  // paragraph break; write through a pointer, trim at the end.
  out.resize(begin + in.size() + in.size() / 2 + 2);
  char* const base = out.data() + begin;
  char* w = base;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < n; ++i) {
    // Fastest path, eight bytes at once (SWAR): ASCII prose and code whose
    // spaces are single and between visible characters normalize to
    // themselves, capitals lowercased. A block that starts or ends with a
    // space, has two spaces in a row or any other byte takes the byte path.
    if (i + 8 <= n) {
      std::uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (plain_block(word)) {
        if (pending != None) {
          if (w != base) {
            if (pending == Space) *w++ = ' ';
            else if (pending == Newline) *w++ = '\n';
            else {
              *w++ = '\n';
              *w++ = '\n';
            }
          }
          pending = None;
        }
        for (;;) {
          word = lowercase_block(word);
          std::memcpy(w, &word, 8);
          w += 8;
          i += 8;
          if (i + 8 > n) break;
          std::memcpy(&word, p + i, 8);
          if (!plain_block(word)) break;
        }
        if (i >= n) break;
      }
    }
    const unsigned char c = p[i];
    if (c > ' ' && c < 0x80) {  // fast path: visible ASCII
      if (pending != None) {
        if (w != base) {
          if (pending == Space) *w++ = ' ';
          else if (pending == Newline) *w++ = '\n';
          else {
            *w++ = '\n';
            *w++ = '\n';
          }
        }
        pending = None;
      }
      *w++ = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    const unsigned char next = i + 1 < n ? p[i + 1] : 0;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      pending = std::max(pending, Space);
      continue;
    }
    if (c == '\n') {
      pending = !keep_lines ? std::max(pending, Space) : (pending >= Newline ? Blank : Newline);
      continue;
    }
    if (c == 0xC2 && next == 0xA0) {  // no-break space
      pending = std::max(pending, Space);
      ++i;
      continue;
    }
    if (c == 0xE3 && next == 0x80 && i + 2 < n && p[i + 2] == 0x80) {  // ideographic space
      pending = std::max(pending, Space);
      i += 2;
      continue;
    }
    if (pending != None && w != base) {
      if (pending == Space) *w++ = ' ';
      else if (pending == Newline) *w++ = '\n';
      else {
        *w++ = '\n';
        *w++ = '\n';
      }
    }
    pending = None;
    if (c < 0x80) {
      *w++ = static_cast<char>(c);  // other control characters
    } else if (c == 0xC3 && next >= 0x80 && next <= 0x9E && next != 0x97) {  // Latin-1 capitals À..Þ (not ×)
      *w++ = static_cast<char>(c);
      *w++ = static_cast<char>(next + 0x20);
      ++i;
    } else if (c == 0xD0 && next >= 0x80 && next <= 0xAF) {  // Cyrillic capitals Ѐ..Я
      if (next >= 0x90 && next <= 0x9F) {  // А..П -> а..п
        *w++ = static_cast<char>(0xD0);
        *w++ = static_cast<char>(next + 0x20);
      } else if (next >= 0xA0) {  // Р..Я -> р..я
        *w++ = static_cast<char>(0xD1);
        *w++ = static_cast<char>(next - 0x20);
      } else {  // Ѐ..Џ -> ѐ..џ
        *w++ = static_cast<char>(0xD1);
        *w++ = static_cast<char>(next + 0x10);
      }
      ++i;
    } else {
      *w++ = static_cast<char>(c);
    }
  }
  out.resize(begin + static_cast<std::size_t>(w - base));
}

PromptAnalyzer::LexiconHits PromptAnalyzer::scan(std::string_view normalized) const {
  const auto& a = *automaton_;
  std::array<unsigned, kKinds> hits{};
  const std::size_t classes = a.classes;
  const std::uint32_t* jump = a.jump.data();
  const std::uint8_t* cls = a.cls.data();
  std::uint32_t off = static_cast<std::uint32_t>(a.start * classes);
  for (unsigned char c : normalized) {
    const std::uint32_t v = jump[off + cls[c]];
    off = v & ~Automaton::kHasOut;
    if (v & Automaton::kHasOut) {
      const auto& o = a.out[off / classes];
      for (std::size_t k = 0; k < kKinds; ++k) hits[k] += o[k];
    }
  }
  return LexiconHits{hits[kStep], hits[kAnswer], hits[kCot], hits[kGiven], hits[kExplain]};
}

namespace {

constexpr std::size_t kLongParagraphWords = 25;
constexpr std::size_t kMaxHeaderWords = 8;
constexpr std::size_t kMaxTokens = 1024;
constexpr std::size_t kMaxQuoteWords = 200;
/// A demand for reasoning counts for a stated answer within this many bytes
/// of it (one or two sentences: "The answer is 18. Explain why.").
constexpr std::uint32_t kExplainNearBytes = 160;

const std::uint64_t kNumberTok = hash_bytes("<n>");
const std::uint64_t kQuoteTok = hash_bytes("<q>");
const std::uint64_t kCodeTok = hash_bytes("<c>");
const std::uint64_t kSlotTok = hash_bytes("<s>");
const std::uint64_t kParagraphTok = hash_bytes("<p>");

std::size_t count_words(std::string_view s) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : s) {
    const bool sep = c == ' ' || c == '\n';
    if (!sep && !in_word) ++words;
    in_word = !sep;
  }
  return words;
}

template <class F>
void split(std::string_view s, std::string_view sep, F&& f) {
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto e = s.find(sep, pos);
    if (e == std::string_view::npos) e = s.size();
    if (e > pos) f(s.substr(pos, e - pos));
    pos = e + sep.size();
  }
}

bool is_header_word(std::string_view w) {
  return w.size() >= 2 && w.back() == ':' && w.find("://") == std::string_view::npos;
}

/// Turns words into tokens with slots masked.
class Tokenizer {
 public:
  explicit Tokenizer(std::vector<std::uint64_t>& out) : out_(out) {}

  void emit(std::uint64_t t) {
    if (out_.size() >= kMaxTokens) return;
    // Consecutive placeholders of the same kind collapse: a slot is a slot
    // whatever its length.
    if (!out_.empty() && out_.back() == t && (t == kSlotTok || t == kParagraphTok || t == kQuoteTok)) return;
    out_.push_back(t);
  }

  void word(std::string_view w) {
    if (in_code_) {
      if (w.find("```") != std::string_view::npos) in_code_ = false;
      return;
    }
    if (w.starts_with("```")) {
      emit(kCodeTok);
      in_code_ = w.find("```", 3) == std::string_view::npos;
      return;
    }
    if (!closer_.empty()) {
      if (ends_with_closer(w) || ++quote_words_ > kMaxQuoteWords) closer_ = {};
      return;
    }
    const auto first = static_cast<unsigned char>(w.front());
    const bool maybe_quote = first == '"' || first == '\'' || first == '`' || first >= 0xC2;
    if (auto c = maybe_quote ? opener_closer(w) : std::string_view{}; !c.empty()) {
      emit(kQuoteTok);
      closer_ = c;
      quote_words_ = 0;
      std::string_view rest = w;
      rest.remove_prefix(opener_len_);
      if (!rest.empty() && ends_with_closer(rest)) closer_ = {};
      return;
    }
    // Hash and digit test in one pass.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char ch : w) {
      if (ch >= '0' && ch <= '9') {
        emit(kNumberTok);
        return;
      }
      h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    }
    emit(mix64(h));
  }

  void end_paragraph() {
    closer_ = {};  // an unclosed quote never swallows the next paragraph
  }

 private:
  std::string_view opener_closer(std::string_view w) {
    struct Pair { std::string_view open, close; };
    static constexpr Pair kPairs[] = {{"\"", "\""}, {"\xE2\x80\x9C", "\xE2\x80\x9D"}, {"\xC2\xAB", "\xC2\xBB"},
                                      {"\xE3\x80\x8C", "\xE3\x80\x8D"}, {"`", "`"}, {"'", "'"},
                                      {"\xE2\x80\x98", "\xE2\x80\x99"}};
    for (const auto& p : kPairs) {
      if (w.starts_with(p.open) && (p.open != "'" || w.size() > 1)) {
        opener_len_ = p.open.size();
        return p.close;
      }
    }
    return {};
  }

  bool ends_with_closer(std::string_view w) const {
    while (!w.empty() && (w.back() == '.' || w.back() == ',' || w.back() == ';' || w.back() == ':' ||
                          w.back() == '!' || w.back() == '?' || w.back() == ')'))
      w.remove_suffix(1);
    return w.ends_with(closer_);
  }

  std::vector<std::uint64_t>& out_;
  std::string_view closer_;
  std::size_t opener_len_ = 0;
  std::size_t quote_words_ = 0;
  bool in_code_ = false;
};

}  // namespace

std::uint64_t PromptAnalyzer::template_signature(std::string_view text) {
  thread_local std::vector<std::uint64_t> tokens;
  thread_local std::vector<std::pair<std::string_view, std::size_t>> paragraphs;
  tokens.clear();
  paragraphs.clear();
  split(text, "\n\n", [&](std::string_view p) { paragraphs.emplace_back(p, 0); });
  // Word counts only matter when there are paragraphs to tell apart.
  if (paragraphs.size() > 1)
    for (auto& [p, words] : paragraphs) words = count_words(p);

  // A frame exists when, besides long paragraphs, there is a short one (the
  // instruction). Then long paragraphs are slot content.
  bool has_short = false, has_long = false;
  for (const auto& [p, words] : paragraphs) {
    if (words > kLongParagraphWords) has_long = true;
    else if (words >= 2) has_short = true;
  }
  const bool mask_long = has_short && has_long;

  Tokenizer tok(tokens);
  const std::size_t last = paragraphs.size() - (paragraphs.empty() ? 0 : 1);
  for (std::size_t pi = 0; pi < paragraphs.size(); ++pi) {
    const auto& [para, words] = paragraphs[pi];
    // Instruction / data / output-cue: with three or more paragraphs the
    // first and the last carry the frame, the middle ones the filled-in data
    // (a review to classify, exemplars, a pasted document).
    const bool middle = pi > 0 && pi < last;
    if (middle || (mask_long && words > kLongParagraphWords && para.find(':') == std::string_view::npos)) {
      tok.emit(kParagraphTok);
      continue;
    }
    bool slot_lines = false;
    split(para, "\n", [&](std::string_view line) {
      // Fast path: a line without ':' in its first words has no header.
      const auto colon = line.find(':');
      if (colon == std::string_view::npos || colon > 200) {
        if (slot_lines) {
          tok.emit(kSlotTok);
          return;
        }
        split(line, " ", [&](std::string_view x) { tok.word(x); });
        return;
      }
      thread_local std::vector<std::string_view> w;
      w.clear();
      split(line, " ", [&](std::string_view x) { w.push_back(x); });
      std::size_t header = w.size();
      for (std::size_t i = 0; i < w.size() && i < kMaxHeaderWords; ++i) {
        if (is_header_word(w[i])) {
          header = i;
          break;
        }
      }
      if (header < w.size()) {
        for (std::size_t i = 0; i <= header; ++i) tok.word(w[i]);
        if (header + 1 < w.size()) tok.emit(kSlotTok);
        slot_lines = header + 1 == w.size();  // "Question:" alone: the following lines are the slot
        return;
      }
      if (slot_lines) {
        tok.emit(kSlotTok);
        return;
      }
      for (auto x : w) tok.word(x);
    });
    tok.end_paragraph();
  }
  if (tokens.empty()) return 0;

  // SimHash: bit b of the signature is set when most shingle hashes have
  // bit b set. Counting is byte-sliced: a table turns one byte of a hash into
  // eight 8-bit lane increments, so a shingle costs 8 additions, not 64.
  static constexpr auto kLanes = [] {
    std::array<std::uint64_t, 256> t{};
    for (unsigned v = 0; v < 256; ++v)
      for (unsigned j = 0; j < 8; ++j) t[v] |= static_cast<std::uint64_t>((v >> j) & 1U) << (8 * j);
    return t;
  }();
  std::array<std::uint64_t, 8> lanes{};
  std::array<std::uint32_t, 64> ones{};
  std::uint32_t pending = 0, total = 0;
  auto flush = [&] {
    for (unsigned k = 0; k < 8; ++k) {
      for (unsigned j = 0; j < 8; ++j) ones[8 * k + j] += static_cast<std::uint32_t>((lanes[k] >> (8 * j)) & 0xFF);
      lanes[k] = 0;
    }
    pending = 0;
  };
  auto add = [&](std::uint64_t h) {
    for (unsigned k = 0; k < 8; ++k) lanes[k] += kLanes[(h >> (8 * k)) & 0xFF];
    ++total;
    if (++pending == 255) flush();
  };
  if (tokens.size() < 3) {
    std::uint64_t h = 0;
    for (auto t : tokens) h = mix64(h ^ t);
    add(h);
  } else {
    for (std::size_t i = 0; i + 2 < tokens.size(); ++i)
      add(mix64(tokens[i] ^ std::rotl(tokens[i + 1], 21) ^ std::rotl(tokens[i + 2], 42)));
  }
  flush();
  std::uint64_t sig = 0;
  for (int b = 0; b < 64; ++b)
    if (2 * ones[b] > total) sig |= (1ULL << b);
  return sig == 0 ? 1 : sig;  // 0 means "no text"
}

int PromptAnalyzer::distance(std::uint64_t a, std::uint64_t b) noexcept { return std::popcount(a ^ b); }

/// Lexicon hits of one text with the positions of the cues that decide
/// states_answer (a few of each; prompts state one answer).
struct PromptAnalyzer::Cues {
  static constexpr std::size_t kMaxPos = 8;
  LexiconHits hits;
  unsigned given = 0;     ///< given-answer cues that are neither negated nor conditional
  unsigned answer = 0;    ///< answer-reasoning phrases that are not conditional
  std::array<std::uint32_t, kMaxPos> given_at{};
  std::array<std::uint32_t, kMaxPos> explain_at{};
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

void PromptAnalyzer::scan_cues(std::string_view normalized, Cues& cues) const {
  const auto& a = *automaton_;
  std::array<unsigned, kKinds> hits{};
  const std::size_t classes = a.classes;
  const std::uint32_t* jump = a.jump.data();
  const std::uint8_t* cls = a.cls.data();
  const auto* text = reinterpret_cast<const unsigned char*>(normalized.data());
  const std::size_t n = normalized.size();
  auto on_hit = [&](std::uint32_t off, std::size_t end, Cues& c) {
    const std::size_t state = off / classes;
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
    if (o[kExplain] && c.explains < Cues::kMaxPos) c.explain_at[c.explains++] = static_cast<std::uint32_t>(end);
  };
  // Two independent lanes interleaved (the automaton is one dependent load
  // per byte; two chains run in parallel on an out-of-order core): lane A
  // reads [0, mid), lane B reads [mid - max_len, n) from the root state and
  // reports only phrases ending after mid. Any phrase ending after mid
  // starts after mid - max_len, so both lanes together report exactly what
  // one pass would.
  const std::size_t mid = n >= 512 ? n / 2 : n;
  const std::size_t b0 = mid - std::min(mid, a.max_len + 1);
  Cues tail;
  std::uint32_t offa = static_cast<std::uint32_t>(a.start * classes), offb = 0;
  std::size_t j = b0;
  for (std::size_t i = 0; i < mid; ++i, ++j) {
    const std::uint32_t va = jump[offa + cls[text[i]]];
    const std::uint32_t vb = jump[offb + cls[text[j]]];
    offa = va & ~Automaton::kHasOut;
    offb = vb & ~Automaton::kHasOut;
    if (va & Automaton::kHasOut) [[unlikely]] on_hit(offa, i + 1, cues);
    if ((vb & Automaton::kHasOut) && j + 1 > mid && mid < n) [[unlikely]] on_hit(offb, j + 1, tail);
  }
  if (mid < n) {
    for (; j < n; ++j) {
      const std::uint32_t vb = jump[offb + cls[text[j]]];
      offb = vb & ~Automaton::kHasOut;
      if ((vb & Automaton::kHasOut) && j + 1 > mid) [[unlikely]] on_hit(offb, j + 1, tail);
    }
    cues.answer += tail.answer;
    for (unsigned k = 0; k < std::min<unsigned>(tail.given, Cues::kMaxPos); ++k) {
      if (cues.given < Cues::kMaxPos) cues.given_at[cues.given] = tail.given_at[k];
      ++cues.given;
    }
    if (tail.given > Cues::kMaxPos) cues.given += tail.given - Cues::kMaxPos;
    for (unsigned k = 0; k < tail.explains && cues.explains < Cues::kMaxPos; ++k)
      cues.explain_at[cues.explains++] = tail.explain_at[k];
  }
  cues.hits = LexiconHits{hits[kStep], hits[kAnswer], hits[kCot], hits[kGiven], hits[kExplain]};
}

PromptFeatures PromptAnalyzer::analyze(const PromptText& text) const {
  thread_local std::string sys, user;
  sys.clear();
  user.clear();
  std::size_t skipped = 0;
  auto bounded = [&](std::string_view raw, std::string& out) {
    if (raw.size() <= max_scan_bytes_) {
      normalize(raw, out, true);
      return;
    }
    const std::size_t head = utf8_floor(raw, max_scan_bytes_ * 3 / 4);
    const std::size_t tail = utf8_floor(raw, raw.size() - max_scan_bytes_ / 4);
    normalize(raw.substr(0, head), out, true);
    out.append("\n\n");
    normalize(raw.substr(tail), out, true);
    skipped += tail - head;
  };
  bounded(text.system, sys);
  skipped = 0;
  bounded(text.last_user, user);

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
  f.template_signature = template_signature(user);
  return f;
}

}  // namespace dg::detectors
