#pragma once
/// Small non-cryptographic hashes for sketches and signatures (not for keys:
/// key fingerprints are SHA-256/HMAC, computed in gateway/).

#include <cstdint>
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

}  // namespace dg::detectors
