#include "detectors/template_signature.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "detectors/hash.hpp"

namespace dg::detectors::prompt {

namespace {

constexpr std::size_t kLongParagraphWords = 25;
constexpr std::size_t kMaxHeaderWords = 8;
constexpr std::size_t kMaxTokens = 1024;
constexpr std::size_t kMaxQuoteWords = 200;

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

std::uint64_t template_signature(std::string_view text) {
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

int signature_distance(std::uint64_t a, std::uint64_t b) noexcept { return std::popcount(a ^ b); }

}  // namespace dg::detectors::prompt
