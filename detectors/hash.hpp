#pragma once
/// Small non-cryptographic hashes for sketches and signatures (not for keys:
/// key fingerprints are SHA-256/HMAC, computed in gateway/).

#include <cstdint>
#include <cstring>
#include <string_view>

namespace dg::detectors {

/// splitmix64 finalizer: a bijective 64-bit mixer with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// FNV-1a over bytes, then mixed (FNV alone has weak high bits).
constexpr std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

/// Hash of a long byte string, eight bytes per step (a multiply-xorshift
/// chain over 64-bit words, then mixed): several times faster than
/// hash_bytes on kilobytes of prompt text. For identity of whole texts in
/// sketches, not for anything adversarial.
inline std::uint64_t hash_text(std::string_view s) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  std::uint64_t w = 0;
  std::memcpy(&w, p, n);
  return mix64(h ^ w);
}

}  // namespace dg::detectors
