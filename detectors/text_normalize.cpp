#include "detectors/text_normalize.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dg::detectors::prompt {

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

void normalize(std::string_view in, std::string& out, bool keep_lines) {
  const std::size_t begin = out.size();
  out.resize(begin + normalized_room(in.size()));
  out.resize(begin + normalize_into(in, out.data() + begin, keep_lines));
}

std::size_t normalize_into(std::string_view in, char* const base, bool keep_lines) noexcept {
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

}  // namespace dg::detectors::prompt
