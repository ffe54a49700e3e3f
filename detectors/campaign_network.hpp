#pragma once
/// Client networks for the campaign linker: an address reduced to its
/// configured prefix (/24 for IPv4, /48 or /64 for IPv6), packed into 64 bits.
/// Parsing is std-only and never throws; anything unparsable is "no network".

#include <cstdint>
#include <string>
#include <string_view>

namespace dg::detectors {

/// A network prefix. `value` holds the prefix bits (IPv4: the address masked
/// in the low 32 bits; IPv6: the first 64 bits masked); `family` is 0 when
/// the address was missing or invalid.
struct NetworkId {
  std::uint64_t value = 0;
  std::uint8_t family = 0;  ///< 0 none, 4 IPv4, 6 IPv6
  std::uint8_t prefix = 0;  ///< prefix length in bits

  bool valid() const noexcept { return family != 0; }
  /// A single 64-bit key for hashing and comparison (0 for no network).
  std::uint64_t key() const noexcept {
    if (!valid()) return 0;
    return (value * 0x9E3779B97F4A7C15ULL) ^ (std::uint64_t{family} << 56) ^ (std::uint64_t{prefix} << 48) ^ 1;
  }
  friend bool operator==(const NetworkId&, const NetworkId&) = default;
};

/// Parses an IPv4 or IPv6 address (brackets, zone ids and IPv4-mapped IPv6
/// accepted; mapped addresses count as IPv4) and masks it to the prefix.
/// IPv6 prefixes longer than 64 are clamped to 64.
NetworkId network_of(std::string_view address, int ipv4_prefix, int ipv6_prefix) noexcept;

/// "203.0.113.0/24" or "2001:db8:1::/48"; "unknown" when invalid.
std::string to_string(const NetworkId& net);

}  // namespace dg::detectors
