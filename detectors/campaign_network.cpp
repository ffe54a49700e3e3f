#include "detectors/campaign_network.hpp"

#include <array>
#include <cstdio>
#include <optional>

namespace dg::detectors {
namespace {

std::optional<std::uint32_t> parse_ipv4(std::string_view s) noexcept {
  std::uint32_t out = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    std::uint32_t v = 0;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<std::uint32_t>(s[i] - '0');
      if (++digits > 3 || v > 255) return std::nullopt;
      ++i;
    }
    out = (out << 8) | v;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses IPv6 into 8 groups. An embedded IPv4 tail fills the last two groups.
std::optional<std::array<std::uint16_t, 8>> parse_ipv6(std::string_view s) noexcept {
  std::array<std::uint16_t, 8> head{}, tail{};
  int nhead = 0, ntail = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return std::nullopt;
  }
  while (i < s.size()) {
    // An IPv4 tail?
    std::size_t end = s.find(':', i);
    std::string_view tok = s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (tok.find('.') != std::string_view::npos) {
      if (end != std::string_view::npos) return std::nullopt;
      auto v4 = parse_ipv4(tok);
      if (!v4) return std::nullopt;
      auto& arr = compressed ? tail : head;
      int& n = compressed ? ntail : nhead;
      if (n + 2 > 8) return std::nullopt;
      arr[n++] = static_cast<std::uint16_t>(*v4 >> 16);
      arr[n++] = static_cast<std::uint16_t>(*v4 & 0xFFFF);
      i = s.size();
      break;
    }
    if (tok.empty() || tok.size() > 4) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : tok) {
      int h = hex_value(c);
      if (h < 0) return std::nullopt;
      v = v * 16 + static_cast<std::uint32_t>(h);
    }
    auto& arr = compressed ? tail : head;
    int& n = compressed ? ntail : nhead;
    if (n >= 8) return std::nullopt;
    arr[n++] = static_cast<std::uint16_t>(v);
    if (end == std::string_view::npos) {
      i = s.size();
      break;
    }
    i = end + 1;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return std::nullopt;  // second "::"
      compressed = true;
      ++i;
    } else if (i == s.size()) {
      return std::nullopt;  // trailing single ':'
    }
  }
  std::array<std::uint16_t, 8> out{};
  if (compressed) {
    if (nhead + ntail > 7) return std::nullopt;
    for (int k = 0; k < nhead; ++k) out[static_cast<std::size_t>(k)] = head[static_cast<std::size_t>(k)];
    for (int k = 0; k < ntail; ++k) out[static_cast<std::size_t>(8 - ntail + k)] = tail[static_cast<std::size_t>(k)];
  } else {
    if (nhead != 8) return std::nullopt;
    out = head;
  }
  return out;
}

std::uint64_t mask_high(std::uint64_t v, int bits, int width) noexcept {
  if (bits <= 0) return 0;
  if (bits >= width) return v;
  std::uint64_t keep = ((std::uint64_t{1} << bits) - 1) << (width - bits);
  return v & keep;
}

}  // namespace

NetworkId network_of(std::string_view a, int ipv4_prefix, int ipv6_prefix) noexcept {
  NetworkId net;
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos) return net;
    a = a.substr(1, close - 1);
  }
  if (auto pct = a.find('%'); pct != std::string_view::npos) a = a.substr(0, pct);
  if (a.empty()) return net;
  int p4 = ipv4_prefix < 0 ? 0 : (ipv4_prefix > 32 ? 32 : ipv4_prefix);
  int p6 = ipv6_prefix < 0 ? 0 : (ipv6_prefix > 64 ? 64 : ipv6_prefix);
  if (a.find(':') == std::string_view::npos) {
    if (auto v4 = parse_ipv4(a)) {
      net.family = 4;
      net.prefix = static_cast<std::uint8_t>(p4);
      net.value = mask_high(*v4, p4, 32);
    }
    return net;
  }
  auto v6 = parse_ipv6(a);
  if (!v6) return net;
  const auto& g = *v6;
  bool mapped = g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xFFFF;
  if (mapped) {
    net.family = 4;
    net.prefix = static_cast<std::uint8_t>(p4);
    net.value = mask_high((std::uint64_t{g[6]} << 16) | g[7], p4, 32);
    return net;
  }
  std::uint64_t high = (std::uint64_t{g[0]} << 48) | (std::uint64_t{g[1]} << 32) | (std::uint64_t{g[2]} << 16) | g[3];
  net.family = 6;
  net.prefix = static_cast<std::uint8_t>(p6);
  net.value = mask_high(high, p6, 64);
  return net;
}

std::string to_string(const NetworkId& net) {
  char buf[64];
  if (net.family == 4) {
    auto v = static_cast<std::uint32_t>(net.value);
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u/%u", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF,
                  static_cast<unsigned>(net.prefix));
    return buf;
  }
  if (net.family == 6) {
    std::string out;
    int groups = (net.prefix + 15) / 16;
    if (groups == 0) groups = 1;
    for (int k = 0; k < groups; ++k) {
      auto grp = static_cast<unsigned>((net.value >> (48 - 16 * k)) & 0xFFFF);
      std::snprintf(buf, sizeof buf, "%x:", grp);
      out += buf;
    }
    out += ":/" + std::to_string(net.prefix);
    return out;
  }
  return "unknown";
}

}  // namespace dg::detectors
