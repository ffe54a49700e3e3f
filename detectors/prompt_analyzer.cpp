#include "detectors/prompt_analyzer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

  explicit Automaton(const ReasoningLexicon& lex) {
    for (const auto& raw : lex.answer_labels) {
      std::string p;
      PromptAnalyzer::normalize(raw, p, false);
      if (!p.empty()) {
        const bool wide = static_cast<unsigned char>(p.front()) >= 0x80;
        labels.push_back(Label{std::move(p), wide});
      }
    }
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
};

PromptAnalyzer::PromptAnalyzer(const ReasoningLexicon& lexicon, std::size_t max_scan_bytes)
    : automaton_(std::make_unique<Automaton>(lexicon)), max_scan_bytes_(std::max<std::size_t>(max_scan_bytes, 256)) {}

PromptAnalyzer::~PromptAnalyzer() = default;

namespace {

/// Sixteen bytes of text, classified at once (SSE2 on x86-64, a plain loop
/// elsewhere). Bit i of a mask describes byte i.
struct Block16 {
  std::uint32_t blank = 0;    ///< bytes <= 0x20: spaces, line breaks, controls
  std::uint32_t space = 0;    ///< ' '
  std::uint32_t newline = 0;  ///< '\n'
  /// Lead bytes of the UTF-8 sequences normalization may change: C2 (no-break
  /// space), C3 (Latin-1 capitals), D0 (Cyrillic capitals), E3 (ideographic space).
  std::uint32_t lead = 0;
};

constexpr bool is_rewritten_lead(unsigned char c) noexcept { return c == 0xC2 || c == 0xC3 || c == 0xD0 || c == 0xE3; }

#if defined(__SSE2__)
inline Block16 classify16(const unsigned char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  auto mask = [](__m128i m) { return static_cast<std::uint32_t>(_mm_movemask_epi8(m)); };
  auto eq = [&](unsigned char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(c))); };
  Block16 b;
  const std::uint32_t high = mask(v);  // bytes >= 0x80
  // Signed compare: bytes < 0x21 and bytes >= 0x80 (negative) at once.
  b.blank = mask(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21))) & ~high;
  b.space = mask(eq(' '));
  b.newline = mask(eq('\n'));
  // ASCII blocks (most) skip the lead-byte compares.
  if (high != 0) b.lead = mask(_mm_or_si128(_mm_or_si128(eq(0xC2), eq(0xC3)), _mm_or_si128(eq(0xD0), eq(0xE3))));
  return b;
}

/// Stores sixteen bytes with 'A'..'Z' lowercased.
inline void store_lower16(const unsigned char* p, char* w) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(w), _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(0x20))));
}
#else
inline Block16 classify16(const unsigned char* p) noexcept {
  Block16 b;
  for (unsigned i = 0; i < 16; ++i) {
    b.blank |= static_cast<std::uint32_t>(p[i] <= 0x20) << i;
    b.space |= static_cast<std::uint32_t>(p[i] == ' ') << i;
    b.newline |= static_cast<std::uint32_t>(p[i] == '\n') << i;
    b.lead |= static_cast<std::uint32_t>(is_rewritten_lead(p[i])) << i;
  }
  return b;
}

inline void store_lower16(const unsigned char* p, char* w) noexcept {
  for (unsigned i = 0; i < 16; ++i) w[i] = static_cast<char>(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
}
#endif

/// Length of the prefix of the sixteen bytes at `p` that normalizes to
/// itself up to case: bytes other than blanks and rewritten UTF-8 leads, a
/// single space between two such bytes, and (when lines are kept) one or two
/// line breaks between two such bytes. `next` is the byte after the block
/// (0 when there is none). 0 when the first byte needs the byte-wise path.
[[gnu::always_inline]] inline unsigned plain_prefix16(const unsigned char* p, unsigned char next, bool keep_lines) noexcept {
  const Block16 b = classify16(p);
  std::uint32_t solid = ~(b.blank | b.lead) & 0xFFFFU;  // bit 16: the byte after the block
  if (next > 0x20 && !is_rewritten_lead(next)) solid |= 0x10000U;
  const std::uint32_t between = (solid << 1) & (solid >> 1);  // both neighbours solid
  std::uint32_t kept = b.space & between;
  if (keep_lines) {
    const std::uint32_t pair = b.newline & (solid << 1) & (b.newline >> 1) & (solid >> 2);  // first of "x\n\ny"
    kept |= (b.newline & between) | pair | (pair << 1);
  }
  const std::uint32_t stop = ((b.blank & ~kept) | b.lead) | 0x10000U;
  return static_cast<unsigned>(std::countr_zero(stop));
}

}  // namespace

namespace {

/// Room normalize_into needs for `in`: output is never longer than the input
/// plus one extra byte per collapsed paragraph break, and sixteen bytes of
/// slack let a block store run past the end.
constexpr std::size_t normalized_room(std::size_t in) noexcept { return in + in / 2 + 2 + 16; }

}  // namespace

void PromptAnalyzer::normalize(std::string_view in, std::string& out, bool keep_lines) {
  const std::size_t begin = out.size();
  out.resize(begin + normalized_room(in.size()));
  out.resize(begin + normalize_into(in, out.data() + begin, keep_lines));
}

std::size_t PromptAnalyzer::normalize_into(std::string_view in, char* const base, bool keep_lines) noexcept {
  enum Pending { None, Space, Newline, Blank };
  Pending pending = None;
  char* w = base;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  auto flush_pending = [&] {
    if (pending != None && w != base) {
      if (pending == Space) *w++ = ' ';
      else if (pending == Newline) *w++ = '\n';
      else {
        *w++ = '\n';
        *w++ = '\n';
      }
    }
    pending = None;
  };
  for (std::size_t i = 0; i < n;) {
    // Fast path, sixteen bytes at once: ASCII prose and code whose spaces
    // are single and between visible characters normalize to themselves,
    // capitals lowercased.
    if (i + 16 <= n) {
      unsigned k = plain_prefix16(p + i, i + 16 < n ? p[i + 16] : 0, keep_lines);
      if (k > 0) {
        flush_pending();
        // Whole blocks advance by a constant, so the next block's load does
        // not wait for this block's classification (no loop-carried chain
        // through the mask while the branch predicts well).
        while (k == 16) {
          store_lower16(p + i, w);
          w += 16;
          i += 16;
          k = i + 16 <= n ? plain_prefix16(p + i, i + 16 < n ? p[i + 16] : 0, keep_lines) : 0;
        }
        if (k > 0) {
          store_lower16(p + i, w);
          w += k;
          i += k;
        }
        continue;
      }
    }
    const unsigned char c = p[i];
    const unsigned char next = i + 1 < n ? p[i + 1] : 0;
    ++i;
    if (c > ' ' && c < 0x80) {  // visible ASCII
      flush_pending();
      *w++ = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      pending = std::max(pending, Space);
      while (i < n && p[i] == ' ') ++i;  // indentation
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
    if (c == 0xE3 && next == 0x80 && i + 1 < n && p[i + 1] == 0x80) {  // ideographic space
      pending = std::max(pending, Space);
      i += 2;
      continue;
    }
    flush_pending();
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
  return static_cast<std::size_t>(w - base);
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

/// Bits of the sixteen bytes at `p` equal to `a` and equal to `b`.
inline std::pair<std::uint32_t, std::uint32_t> bytes16(const unsigned char* p, char a, char b) noexcept {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return {static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)))),
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b))))};
#else
  std::uint32_t ma = 0, mb = 0;
  for (unsigned i = 0; i < 16; ++i) {
    ma |= static_cast<std::uint32_t>(p[i] == static_cast<unsigned char>(a)) << i;
    mb |= static_cast<std::uint32_t>(p[i] == static_cast<unsigned char>(b)) << i;
  }
  return {ma, mb};
#endif
}

/// The sixteen bytes at `p` when `avail` >= 16 are readable there;
/// otherwise the `avail` bytes copied into `spare` and zero-padded (a zero
/// byte matches none of the bytes the masks look for).
inline const unsigned char* block16(const unsigned char* p, std::size_t avail, unsigned char (&spare)[16]) noexcept {
  if (avail >= 16) return p;
  std::memset(spare, 0, sizeof spare);
  std::memcpy(spare, p, avail);
  return spare;
}

/// Bit i set when byte i of the sixteen at `p` is a space or a line break.
inline std::uint32_t separators16(const unsigned char* p) noexcept {
  const auto [space, newline] = bytes16(p, ' ', '\n');
  return space | newline;
}

/// Set bits of a 16-bit mask (std::popcount is a library call on baseline x86-64).
inline unsigned popcount16(std::uint32_t x) noexcept {
#if defined(__POPCNT__)
  return static_cast<unsigned>(std::popcount(x));
#else
  x = x - ((x >> 1) & 0x5555U);
  x = (x & 0x3333U) + ((x >> 2) & 0x3333U);
  x = (x + (x >> 4)) & 0x0F0FU;
  return (x + (x >> 8)) & 0x1FU;
#endif
}

/// Words (maximal runs of bytes other than space and line break), counted
/// as word starts sixteen bytes at a time, up to `cap` (the caller only
/// compares the count with thresholds below it).
std::size_t count_words(std::string_view s, std::size_t cap) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  unsigned char spare[16];
  std::size_t words = 0;
  std::uint32_t before = 1;  // the text's start acts as a separator
  for (std::size_t i = 0; i < n && words < cap; i += 16) {
    const std::uint32_t sep = separators16(block16(p + i, n - i, spare));
    const std::uint32_t in_text = n - i >= 16 ? 0xFFFFU : (1U << (n - i)) - 1;
    words += popcount16(~sep & ((sep << 1) | before) & in_text);
    before = sep >> 15;
  }
  return std::min(words, cap);
}

bool is_header_word(std::string_view w) {
  return w.size() >= 2 && w.back() == ':' && w.find("://") == std::string_view::npos;
}

/// A word of normalized text with its hash and whether it has a digit.
struct Word {
  Word(std::string_view t, std::uint64_t h, bool d) noexcept : text(t), hash(h), digit(d) {}
  std::string_view text;
  std::uint64_t hash;
  bool digit;
};

/// Whether any of the eight bytes of `v` is an ASCII digit (exact as a
/// whole; zero bytes are not digits).
constexpr bool has_digit8(std::uint64_t v) noexcept {
  const std::uint64_t x = v ^ 0x3030303030303030ULL;  // digits become 0..9
  return ((x - 0x0A0A0A0A0A0A0A0AULL) & ~x & 0x8080808080808080ULL) != 0;
}

/// Up to eight bytes at `p` (fewer when `len` < 8), zero-padded, read in one
/// load when the buffer (ending at `end`) allows it.
inline std::uint64_t load_upto8(const char* p, std::size_t len, const char* end) noexcept {
  std::uint64_t v = 0;
  if (end - p >= 8) {
    std::memcpy(&v, p, 8);
    if (len < 8) v &= ~0ULL >> (64 - 8 * len);  // little-endian: keep the first len bytes
  } else {
    std::memcpy(&v, p, len);
  }
  return v;
}

/// Hash and digit test of one word, eight bytes per step.
inline Word make_word(const char* p, std::size_t len, const char* end) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
  bool digit = false;
  for (std::size_t off = 0; off < len; off += 8) {
    const std::uint64_t v = load_upto8(p + off, std::min<std::size_t>(8, len - off), end);
    digit |= has_digit8(v);
    h = (h ^ v) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  // A bijection of the bytes for words up to eight bytes long (no two such
  // words share a token); shingles are mixed again before SimHash.
  return Word(std::string_view(p, len), h, digit);
}

/// Calls f(Word) for each space-separated word of `line` (no empty words);
/// `end` is the end of the buffer `line` lies in (bytes up to it may be read).
/// Word ends come from sixteen-byte separator masks, not a branch per byte.
template <class F>
void for_each_word(std::string_view line, const char* end, F&& f) {
  const char* p = line.data();
  const std::size_t n = line.size();
  std::size_t start = 0;
  for (std::size_t base = 0; base < n; base += 16) {
    unsigned char spare[16];
    const auto readable = static_cast<std::size_t>(end - (p + base));
    std::uint32_t sep = separators16(block16(reinterpret_cast<const unsigned char*>(p + base), readable, spare));
    if (n - base < 16) sep &= (1U << (n - base)) - 1;  // bytes past the line
    while (sep != 0) {
      const std::size_t pos = base + static_cast<std::size_t>(std::countr_zero(sep));
      sep &= sep - 1;
      if (pos > start) f(make_word(p + start, pos - start, end));
      start = pos + 1;
    }
  }
  if (n > start) f(make_word(p + start, n - start, end));
}

/// Turns words into tokens with slots masked.
class Tokenizer {
 public:
  explicit Tokenizer(std::vector<std::uint64_t>& out) : out_(out) {}

  [[gnu::always_inline]] void emit(std::uint64_t t) {
    if (out_.size() >= kMaxTokens) return;
    // Consecutive placeholders of the same kind collapse: a slot is a slot
    // whatever its length.
    if (!out_.empty() && out_.back() == t && (t == kSlotTok || t == kParagraphTok || t == kQuoteTok)) return;
    out_.push_back(t);
  }

  /// Most words are plain: outside code and quotes, not opening either.
  [[gnu::always_inline]] void word(const Word& word) {
    if (!in_code_ && closer_.empty()) [[likely]] {
      const auto first = static_cast<unsigned char>(word.text.front());
      if (first != '`' && first != '"' && first != '\'' && first < 0xC2) {
        if (word.digit) emit(kNumberTok);  // a number token may follow a placeholder
        else if (out_.size() < kMaxTokens) out_.push_back(word.hash);
        return;
      }
    }
    special_word(word);
  }

  [[gnu::noinline]] void special_word(const Word& word) {
    const std::string_view w = word.text;
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
    emit(word.digit ? kNumberTok : word.hash);
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

namespace {

/// SimHash of word 3-shingles (one hash of all tokens when there are fewer
/// than three): bit b is set when more than half of the shingle hashes have
/// bit b set. Votes are counted in 8-bit counters (64 of them in four SSE2
/// registers, or eight 64-bit words elsewhere) added to 32-bit totals every
/// 255 shingles; the counters stay in registers for the whole loop.
std::uint64_t shingle_simhash(const std::vector<std::uint64_t>& tokens) {
  const std::size_t n = tokens.size();
  const std::size_t count = n < 3 ? 1 : n - 2;
  auto hash_at = [&](std::size_t i) {
    if (n < 3) {
      std::uint64_t h = 0;
      for (auto t : tokens) h = mix64(h ^ t);
      return h;
    }
    return mix64(tokens[i] ^ std::rotl(tokens[i + 1], 21) ^ std::rotl(tokens[i + 2], 42));
  };
  std::array<std::uint32_t, 64> ones{};
  for (std::size_t begin = 0; begin < count; begin += 255) {
    const std::size_t end = std::min(count, begin + 255);
#if defined(__SSE2__)
    // Each byte of a hash spread over eight counter bytes, each counter byte
    // masked to its own bit: compares give 0xFF (= -1) per set bit.
    const __m128i bits = _mm_set_epi8(-128, 64, 32, 16, 8, 4, 2, 1, -128, 64, 32, 16, 8, 4, 2, 1);
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = begin; i < end; ++i) {
      const __m128i v = _mm_cvtsi64_si128(static_cast<long long>(hash_at(i)));
      const __m128i b2 = _mm_unpacklo_epi8(v, v);
      const __m128i lo = _mm_unpacklo_epi16(b2, b2), hi = _mm_unpackhi_epi16(b2, b2);
      a0 = _mm_sub_epi8(a0, _mm_cmpeq_epi8(_mm_and_si128(_mm_unpacklo_epi32(lo, lo), bits), bits));
      a1 = _mm_sub_epi8(a1, _mm_cmpeq_epi8(_mm_and_si128(_mm_unpackhi_epi32(lo, lo), bits), bits));
      a2 = _mm_sub_epi8(a2, _mm_cmpeq_epi8(_mm_and_si128(_mm_unpacklo_epi32(hi, hi), bits), bits));
      a3 = _mm_sub_epi8(a3, _mm_cmpeq_epi8(_mm_and_si128(_mm_unpackhi_epi32(hi, hi), bits), bits));
    }
    alignas(16) std::uint8_t c[64];
    _mm_store_si128(reinterpret_cast<__m128i*>(c), a0);
    _mm_store_si128(reinterpret_cast<__m128i*>(c + 16), a1);
    _mm_store_si128(reinterpret_cast<__m128i*>(c + 32), a2);
    _mm_store_si128(reinterpret_cast<__m128i*>(c + 48), a3);
    for (unsigned b = 0; b < 64; ++b) ones[b] += c[b];
#else
    // A table turns one byte of a hash into eight 8-bit lane increments.
    static constexpr auto kLanes = [] {
      std::array<std::uint64_t, 256> t{};
      for (unsigned v = 0; v < 256; ++v)
        for (unsigned j = 0; j < 8; ++j) t[v] |= static_cast<std::uint64_t>((v >> j) & 1U) << (8 * j);
      return t;
    }();
    std::array<std::uint64_t, 8> lanes{};
    for (std::size_t i = begin; i < end; ++i) {
      const std::uint64_t h = hash_at(i);
      for (unsigned k = 0; k < 8; ++k) lanes[k] += kLanes[(h >> (8 * k)) & 0xFF];
    }
    for (unsigned k = 0; k < 8; ++k)
      for (unsigned j = 0; j < 8; ++j) ones[8 * k + j] += static_cast<std::uint32_t>((lanes[k] >> (8 * j)) & 0xFF);
#endif
  }
  std::uint64_t sig = 0;
  for (unsigned b = 0; b < 64; ++b)
    if (2 * ones[b] > count) sig |= 1ULL << b;
  return sig;
}

/// A non-empty line of normalized text and where its first ':' is.
struct Line {
  // Built in place by emplace_back: a temporary copied in whole stalls
  // store-to-load forwarding.
  Line(std::size_t b, std::size_t e, std::size_t c) noexcept : begin(b), end(e), colon(c) {}
  std::size_t begin, end;
  std::size_t colon;  ///< offset in the line of its first ':', or npos
};

/// Lines separated by one blank line or more form a paragraph.
struct Paragraph {
  std::size_t first_line = 0, end_line = 0;  ///< [first_line, end_line) of the line list
  std::size_t words = 0;
  bool has_colon = false;
};

/// Splits text into lines and paragraphs in one pass over sixteen-byte
/// masks of line breaks and colons (no search call per line).
void split_lines(std::string_view text, std::vector<Line>& lines, std::vector<Paragraph>& paragraphs) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  // The current line and paragraph live in scalars (see Line).
  std::size_t line_begin = 0, line_colon = std::string_view::npos, para_first = 0;
  bool para_colon = false;
  auto end_paragraph = [&] {
    paragraphs.push_back(Paragraph{para_first, lines.size(), 0, para_colon});
    para_first = lines.size();
    para_colon = false;
  };
  auto end_line = [&](std::size_t end) {
    if (end > line_begin) {
      para_colon |= line_colon != std::string_view::npos;
      lines.emplace_back(line_begin, end, line_colon);
    } else if (lines.size() > para_first) {  // a blank line ends the paragraph
      end_paragraph();
    }
    line_begin = end + 1;
    line_colon = std::string_view::npos;
  };
  for (std::size_t base = 0; base < n; base += 16) {
    unsigned char spare[16];
    const auto [nl, colon] = bytes16(block16(p + base, n - base, spare), '\n', ':');
    // One step per line break (colons are looked up, not iterated): bits
    // [from, upto) of this block belong to the current line.
    unsigned from = 0;
    for (std::uint32_t m = nl;; m &= m - 1) {
      const unsigned upto = m != 0 ? static_cast<unsigned>(std::countr_zero(m)) : 16;
      if (line_colon == std::string_view::npos) {
        if (const std::uint32_t seg = colon & ((1U << upto) - 1) & ~((1U << from) - 1); seg != 0)
          line_colon = base + static_cast<std::size_t>(std::countr_zero(seg)) - line_begin;
      }
      if (m == 0) break;
      end_line(base + upto);
      from = upto + 1;
    }
  }
  end_line(n);
  if (lines.size() > para_first) end_paragraph();
}

}  // namespace

std::uint64_t PromptAnalyzer::template_signature(std::string_view text) {
  const char* const text_end = text.data() + text.size();
  thread_local std::vector<std::uint64_t> tokens;
  thread_local std::vector<Line> lines;
  thread_local std::vector<Paragraph> paragraphs;
  tokens.clear();
  lines.clear();
  paragraphs.clear();
  split_lines(text, lines, paragraphs);
  auto span = [&](const Paragraph& para) {
    const std::size_t b = lines[para.first_line].begin;
    return text.substr(b, lines[para.end_line - 1].end - b);
  };
  // Word counts only matter when there are paragraphs to tell apart.
  if (paragraphs.size() > 1)
    for (auto& para : paragraphs) para.words = count_words(span(para), kLongParagraphWords + 1);

  // A frame exists when, besides long paragraphs, there is a short one (the
  // instruction). Then long paragraphs are slot content.
  bool has_short = false, has_long = false;
  for (const auto& para : paragraphs) {
    if (para.words > kLongParagraphWords) has_long = true;
    else if (para.words >= 2) has_short = true;
  }
  const bool mask_long = has_short && has_long;

  Tokenizer tok(tokens);
  const std::size_t last = paragraphs.size() - (paragraphs.empty() ? 0 : 1);
  for (std::size_t pi = 0; pi < paragraphs.size(); ++pi) {
    const Paragraph& para = paragraphs[pi];
    // Instruction / data / output-cue: with three or more paragraphs the
    // first and the last carry the frame, the middle ones the filled-in data
    // (a review to classify, exemplars, a pasted document).
    const bool middle = pi > 0 && pi < last;
    if (middle || (mask_long && para.words > kLongParagraphWords && !para.has_colon)) {
      tok.emit(kParagraphTok);
      continue;
    }
    bool slot_lines = false;
    for (std::size_t li = para.first_line; li < para.end_line; ++li) {
      const Line& ln = lines[li];
      const std::string_view line = text.substr(ln.begin, ln.end - ln.begin);
      // Fast path: a line without ':' in its first words has no header.
      if (ln.colon == std::string_view::npos || ln.colon > 200) {
        if (slot_lines) tok.emit(kSlotTok);
        else for_each_word(line, text_end, [&](const Word& x) { tok.word(x); });
        continue;
      }
      thread_local std::vector<Word> w;
      w.clear();
      for_each_word(line, text_end, [&](const Word& x) { w.emplace_back(x.text, x.hash, x.digit); });
      std::size_t header = w.size();
      for (std::size_t i = 0; i < w.size() && i < kMaxHeaderWords; ++i) {
        if (is_header_word(w[i].text)) {
          header = i;
          break;
        }
      }
      if (header < w.size()) {
        for (std::size_t i = 0; i <= header; ++i) tok.word(w[i]);
        if (header + 1 < w.size()) tok.emit(kSlotTok);
        slot_lines = header + 1 == w.size();  // "Question:" alone: the following lines are the slot
        continue;
      }
      if (slot_lines) {
        tok.emit(kSlotTok);
        continue;
      }
      for (const auto& x : w) tok.word(x);
    }
    tok.end_paragraph();
  }
  if (tokens.empty()) return 0;

  // SimHash: bit b of the signature is set when most shingle hashes have
  // bit b set.
  const std::uint64_t sig = shingle_simhash(tokens);
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
  // The automaton is one dependent load per byte; independent lanes over
  // parts of the text run in parallel on an out-of-order core.
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
  const std::size_t classes = a.classes;
  const std::uint32_t* jump = a.jump.get();
  const std::uint32_t flagged = a.flagged;
  const std::uint8_t* cls = a.cls.data();
  const auto* text = reinterpret_cast<const unsigned char*>(normalized.data());
  const std::size_t n = normalized.size();
  auto on_hit = [&](std::uint32_t off, std::size_t end, Cues& c) {
    const std::size_t state = (off - flagged) / classes;
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
  };
  // Lane k owns the phrases that end in (bound[k], bound[k + 1]]. It starts
  // reading max_len + 1 bytes before its part from the root state: a phrase
  // ending in the part starts after that point, so together the lanes
  // report exactly what one pass would. Lane 0 starts at the text's start
  // after the implicit leading separator.
  std::array<std::size_t, Lanes + 1> bound{};
  std::array<std::size_t, Lanes> from{};
  std::array<std::uint32_t, Lanes> off{};
  std::array<Cues, Lanes> found{};
  // Parts sized so that every lane reads the same number of bytes (lane 0
  // has no overlap to reread): the lanes run in lockstep to the end.
  const std::size_t overlap = a.max_len + 1;
  const std::size_t per_lane = (n + (Lanes - 1) * overlap + Lanes - 1) / Lanes;
  for (unsigned k = 1; k < Lanes; ++k)
    bound[k] = std::min(n, per_lane + (k - 1) * (per_lane > overlap ? per_lane - overlap : 0));
  bound[Lanes] = n;
  for (unsigned k = 0; k < Lanes; ++k) from[k] = bound[k] - std::min(bound[k], overlap);
  off[0] = static_cast<std::uint32_t>(a.start * classes);
  std::size_t common = n;
  for (unsigned k = 0; k < Lanes; ++k) common = std::min(common, bound[k + 1] - from[k]);
  // Reads [begin, end) of lane k from state `o`, reporting the lane's phrases.
  auto careful = [&](unsigned k, std::uint32_t o, std::size_t begin, std::size_t end) {
    for (std::size_t pos = begin; pos < end; ++pos) {
      o = jump[o + cls[text[pos]]];
      if ((o & flagged) && pos + 1 > bound[k]) [[unlikely]] on_hit(o, pos + 1, found[k]);
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
        off[k] = jump[off[k] + cls[text[from[k] + t + u]]];
        seen[k] |= off[k];
      }
    }
    std::uint32_t any = 0;
#pragma GCC unroll 4
    for (unsigned k = 0; k < Lanes; ++k) any |= seen[k];
    if (any & flagged) [[unlikely]] {
      for (unsigned k = 0; k < Lanes; ++k)
        if (seen[k] & flagged) careful(k, before[k], from[k] + t, from[k] + t + kStretch);
    }
  }
  for (unsigned k = 0; k < Lanes; ++k) careful(k, off[k], from[k] + t, bound[k + 1]);
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
  auto room_for = [&](std::size_t raw) { return normalized_room(std::min(raw, max_scan_bytes_) + 4) + 8; };
  const std::size_t sys_room = room_for(text.system.size());
  const std::size_t room = sys_room + room_for(text.last_user.size());
  if (buffer.size() < room) buffer.resize(std::max(room, 2 * buffer.size()));
  std::size_t skipped = 0;
  auto bounded = [&](std::string_view raw, char* out) -> std::string_view {
    if (raw.size() <= max_scan_bytes_) return {out, normalize_into(raw, out, true)};
    const std::size_t head = utf8_floor(raw, max_scan_bytes_ * 3 / 4);
    const std::size_t tail = utf8_floor(raw, raw.size() - max_scan_bytes_ / 4);
    std::size_t n = normalize_into(raw.substr(0, head), out, true);
    out[n++] = '\n';
    out[n++] = '\n';
    n += normalize_into(raw.substr(tail), out + n, true);
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
  f.template_signature = template_signature(user);
  return f;
}

}  // namespace dg::detectors
