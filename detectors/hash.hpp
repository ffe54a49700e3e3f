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

/// Hash of a long byte string, 32 bytes per step in four independent
/// multiply-xorshift chains (they run in parallel on an out-of-order core),
/// then eight bytes per step, then mixed: several times faster than
/// hash_bytes on kilobytes of prompt text. For identity of whole texts in
/// sketches, not for anything adversarial; values are not stored.
inline std::uint64_t hash_text(std::string_view s) noexcept {
  constexpr std::uint64_t kMul = 0xff51afd7ed558ccdULL;
  auto step = [](std::uint64_t h, std::uint64_t w) noexcept {
    h = (h ^ w) * kMul;
    return h ^ (h >> 29);
  };
  std::uint64_t h0 = 0x9e3779b97f4a7c15ULL ^ s.size(), h1 = 0xc2b2ae3d27d4eb4fULL, h2 = 0x165667b19e3779f9ULL,
                h3 = 0x27d4eb2f165667c5ULL;
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 32; p += 32, n -= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, 32);
    h0 = step(h0, w[0]);
    h1 = step(h1, w[1]);
    h2 = step(h2, w[2]);
    h3 = step(h3, w[3]);
  }
  std::uint64_t h = h0 ^ mix64(h1) ^ mix64(h2 + 1) ^ mix64(h3 + 2);
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = step(h, w);
  }
  std::uint64_t w = 0;
  std::memcpy(&w, p, n);
  return mix64(h ^ w);
}

}  // namespace dg::detectors
