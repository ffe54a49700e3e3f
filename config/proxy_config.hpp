#pragma once
/// The proxy's own configuration sections (listen, upstream, workers, limits,
/// timeouts, identity, trusted_proxies, log, capture), read strictly with
/// YamlSection. Plain immutable data once loaded; shared by all workers.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.hpp"

namespace dg::config {

/// An address block such as 10.0.0.0/8 or fd00::/8. IPv4 is stored
/// IPv4-mapped (::ffff:a.b.c.d) with the prefix shifted by 96, so one
/// comparison covers both families.
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  unsigned prefix = 0;  ///< 0..128, in the IPv6 (mapped) space
  std::string text;     ///< as written, for messages

  /// True when `v6_or_mapped` (16 bytes, IPv4 as ::ffff:a.b.c.d) lies in the block.
  bool contains(const std::array<std::uint8_t, 16>& v6_or_mapped) const noexcept;
};

/// Parses "a.b.c.d/n", "x::y/n" or a bare address (a /32 or /128); nullopt-like
/// failure is reported by returning false.
bool parse_cidr(std::string_view text, Cidr& out);

/// Parses a textual IPv4/IPv6 address into the mapped 16-byte form.
bool parse_ip(std::string_view text, std::array<std::uint8_t, 16>& out);

struct ListenConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  ///< 0 picks a free port (tests)
};

struct UpstreamConfig {
  std::string url = "http://127.0.0.1:8000";  ///< http:// or https://, optional base path
  bool tls_verify = true;       ///< certificate and host-name verification
  std::string ca_file;          ///< extra trusted CA bundle (PEM); empty = system store
  std::uint32_t pool_max_idle = 64;  ///< idle upstream connections kept per worker
};

struct LimitsConfig {
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 8ull * 1024 * 1024;
};

/// All in milliseconds.
struct TimeoutsConfig {
  std::uint32_t client_header_ms = 10'000;       ///< request head (and keep-alive idle) deadline
  std::uint32_t client_body_ms = 30'000;         ///< request body deadline
  std::uint32_t upstream_connect_ms = 5'000;     ///< TCP connect + TLS handshake
  std::uint32_t upstream_first_byte_ms = 60'000; ///< request sent -> response head
  std::uint32_t upstream_idle_ms = 60'000;       ///< gap between response bytes
  std::uint32_t shutdown_grace_ms = 10'000;      ///< drain time on SIGTERM/SIGINT
};

struct IdentityConfig {
  /// Headers that may carry the key, in order: "authorization" (Bearer),
  /// "api-key", "x-api-key".
  std::vector<std::string> key_headers{"authorization", "api-key", "x-api-key"};
  std::string fingerprint_salt;  ///< HMAC salt for fingerprints; empty = SHA-256
  bool allow_anonymous = false;
  std::string tenant_header;     ///< header naming the tenant; empty = none
};

struct LogConfig {
  std::string format = "text";  ///< text | json
  std::string level = "info";   ///< trace | debug | info | warn | error | off
  /// Service (diagnostic) lines to this file instead of stderr ("" = stderr).
  /// Written by a logging thread; reopened on SIGUSR1.
  std::string file;
  /// Access lines to this file instead of stdout ("" = stdout). Written by a
  /// logging thread (never a worker); reopened on SIGUSR1.
  std::string access_file;
};

struct CaptureConfig {
  bool enabled = false;
  std::string path = "capture.jsonl";
  bool include_content = false;  ///< false: message text is redacted, parameters kept
  std::uint64_t max_bytes = 0;   ///< rotate at this size (path.1 .. path.keep); 0 = never
  unsigned keep = 5;             ///< rotated files kept
};

/// Everything the proxy itself needs.
struct ProxyConfig {
  ListenConfig listen;
  UpstreamConfig upstream;
  unsigned workers = 0;  ///< resolved: never 0 after load (0 in YAML = number of cores)
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  IdentityConfig identity;
  std::vector<Cidr> trusted_proxies;
  LogConfig log;
  CaptureConfig capture;
};

/// Reads the proxy's keys from the root section (marks them consumed). Bad
/// values are recorded in the section (thrown by its finish()); a structural
/// error throws ConfigError with `file:line:column: message`.
ProxyConfig read_proxy_config(YamlSection& root);

}  // namespace dg::config
