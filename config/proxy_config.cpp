#include "config/proxy_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <thread>

namespace dg::config {

bool parse_ip(std::string_view text, std::array<std::uint8_t, 16>& out) {
  const std::string s(text);
  out.fill(0);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return true;
  }
  return false;
}

bool parse_cidr(std::string_view text, Cidr& out) {
  out.text = std::string(text);
  const auto slash = text.find('/');
  const auto addr = text.substr(0, slash);
  if (!parse_ip(addr, out.address)) return false;
  const bool v4 = addr.find(':') == std::string_view::npos;
  const unsigned max_prefix = v4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const auto p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty() || prefix > max_prefix) return false;
  }
  out.prefix = v4 ? prefix + 96 : prefix;
  // Normalise: clear host bits so contains() is a plain masked compare.
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits_before = i * 8;
    if (bits_before >= out.prefix) out.address[i] = 0;
    else if (out.prefix - bits_before < 8)
      out.address[i] &= static_cast<std::uint8_t>(0xff << (8 - (out.prefix - bits_before)));
  }
  return true;
}

bool Cidr::contains(const std::array<std::uint8_t, 16>& ip) const noexcept {
  unsigned bits = prefix;
  for (unsigned i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((ip[i] & mask) != (address[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

namespace {

template <class T>
T read_bounded(YamlSection& s, std::string_view key, T fallback, std::int64_t lo, std::int64_t hi) {
  const auto node = s.raw(key);
  if (!node) return fallback;
  const auto v = s.get<std::int64_t>(key, static_cast<std::int64_t>(fallback));  // re-reads it with type checks
  if (v < lo || v > hi) {
    s.error(*node, "'" + s.qualified(key) + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return fallback;
  }
  return static_cast<T>(v);
}

std::string one_of(YamlSection& s, std::string_view key, std::string fallback, std::initializer_list<std::string_view> allowed) {
  const auto node = s.raw(key);
  if (!node) return fallback;
  auto v = s.get<std::string>(key, fallback);
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    s.error(*node, "'" + s.qualified(key) + "' must be one of: " + list + "; got '" + v + "'");
    return fallback;
  }
  return v;
}

constexpr std::int64_t kMaxMs = 24ll * 3600 * 1000;

}  // namespace

ProxyConfig read_proxy_config(YamlSection& root) {
  ProxyConfig c;
  if (auto s = root.child("listen")) {
    c.listen.address = s->get<std::string>("address", c.listen.address);
    if (auto n = s->raw("address")) {
      std::array<std::uint8_t, 16> ip{};
      if (!parse_ip(c.listen.address, ip)) s->error(*n, "'listen.address' must be an IPv4 or IPv6 address");
    }
    c.listen.port = read_bounded<std::uint16_t>(*s, "port", c.listen.port, 0, 65535);
    s->finish();
  }
  if (auto s = root.child("upstream")) {
    const auto node = s->raw("url");
    if (!node) s->fail_missing("url");
    c.upstream.url = s->get<std::string>("url", "");
    const auto& url = c.upstream.url;
    const auto after_scheme = url.find("://") == std::string::npos ? url.size() : url.find("://") + 3;
    if (!(url.starts_with("http://") || url.starts_with("https://")) || url.find_first_of(" \t") != std::string::npos ||
        after_scheme >= url.size() || url[after_scheme] == '/' || url[after_scheme] == ':')
      s->error(*node, "'upstream.url' must be an http:// or https:// URL, got '" + c.upstream.url + "'");
    c.upstream.tls_verify = s->get<bool>("tls_verify", c.upstream.tls_verify);
    c.upstream.ca_file = s->get<std::string>("ca_file", c.upstream.ca_file);
    c.upstream.pool_max_idle = read_bounded<std::uint32_t>(*s, "pool_max_idle", c.upstream.pool_max_idle, 0, 100000);
    s->finish();
  }
  c.workers = read_bounded<unsigned>(root, "workers", 0, 0, 1024);
  if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
  if (auto s = root.child("limits")) {
    c.limits.max_header_bytes = read_bounded<std::uint32_t>(*s, "max_header_bytes", c.limits.max_header_bytes, 256, 1 << 24);
    c.limits.max_body_bytes = read_bounded<std::uint64_t>(*s, "max_body_bytes", c.limits.max_body_bytes, 0, 1ll << 34);
    s->finish();
  }
  if (auto s = root.child("timeouts")) {
    auto& t = c.timeouts;
    t.client_header_ms = read_bounded<std::uint32_t>(*s, "client_header_ms", t.client_header_ms, 1, kMaxMs);
    t.client_body_ms = read_bounded<std::uint32_t>(*s, "client_body_ms", t.client_body_ms, 1, kMaxMs);
    t.upstream_connect_ms = read_bounded<std::uint32_t>(*s, "upstream_connect_ms", t.upstream_connect_ms, 1, kMaxMs);
    t.upstream_first_byte_ms = read_bounded<std::uint32_t>(*s, "upstream_first_byte_ms", t.upstream_first_byte_ms, 1, kMaxMs);
    t.upstream_idle_ms = read_bounded<std::uint32_t>(*s, "upstream_idle_ms", t.upstream_idle_ms, 1, kMaxMs);
    t.shutdown_grace_ms = read_bounded<std::uint32_t>(*s, "shutdown_grace_ms", t.shutdown_grace_ms, 0, kMaxMs);
    s->finish();
  }
  if (auto s = root.child("identity")) {
    if (auto n = s->raw("key_headers")) {
      auto headers = s->list<std::string>("key_headers");
      if (headers.empty()) s->fail(*n, "'identity.key_headers' must name at least one header");
      for (auto& h : headers) {
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (h != "authorization" && h != "api-key" && h != "x-api-key")
          s->fail(*n, "'identity.key_headers' entries must be authorization, api-key or x-api-key; got '" + h + "'");
      }
      c.identity.key_headers = std::move(headers);
    }
    // A secret: inline, or fingerprint_salt_env / fingerprint_salt_file.
    c.identity.fingerprint_salt = s->secret("fingerprint_salt").value_or("");
    c.identity.allow_anonymous = s->get<bool>("allow_anonymous", false);
    c.identity.tenant_header = s->get<std::string>("tenant_header", "");
    s->finish();
  }
  if (auto n = root.raw("trusted_proxies")) {
    if (!n->IsSequence()) root.fail(*n, "'trusted_proxies' must be a list of CIDR blocks");
    for (const auto& item : *n) {
      Cidr cidr;
      if (!item.IsScalar() || !parse_cidr(item.Scalar(), cidr)) {
        root.error(item, "'trusted_proxies' entry is not a CIDR block (e.g. 10.0.0.0/8): '" +
                             (item.IsScalar() ? item.Scalar() : std::string("?")) + "'");
        continue;
      }
      c.trusted_proxies.push_back(std::move(cidr));
    }
  }
  if (auto s = root.child("log")) {
    c.log.format = one_of(*s, "format", c.log.format, {"text", "json"});
    c.log.level = one_of(*s, "level", c.log.level, {"trace", "debug", "info", "warn", "error", "off"});
    c.log.file = s->get<std::string>("file", "");
    c.log.access_file = s->get<std::string>("access_file", "");
    s->finish();
  }
  if (auto s = root.child("capture")) {
    c.capture.enabled = s->get<bool>("enabled", false);
    c.capture.path = s->get<std::string>("path", c.capture.path);
    c.capture.include_content = s->get<bool>("include_content", false);
    c.capture.max_bytes = read_bounded<std::uint64_t>(*s, "max_bytes", c.capture.max_bytes, 0, 1ll << 50);
    c.capture.keep = read_bounded<unsigned>(*s, "keep", c.capture.keep, 1, 1000);
    s->finish();
  }
  return c;
}

}  // namespace dg::config
