#pragma once
/// Connections to the upstream API: where it is (parsed from upstream.url),
/// one connection (plain TCP or TLS with verification, host-name check and
/// SNI), and a per-worker pool of idle keep-alive connections. A pool and its
/// connections never leave their worker's io_context, so nothing here locks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "config/proxy_config.hpp"
#include "gateway/net/net.hpp"
#include "gateway/http/proxy_stats.hpp"

namespace dg::gateway {

/// The upstream base URL, split for connecting and request targets.
struct UpstreamTarget {
  bool tls = false;
  std::string host;         ///< name or address (no brackets)
  std::string port;         ///< "80"/"443" when absent
  std::string host_header;  ///< Host: value sent upstream
  std::string base_path;    ///< prefix for every forwarded target, without trailing '/'; "" for none
};

/// Parses `http[s]://host[:port][/base]`; nullopt when malformed.
std::optional<UpstreamTarget> parse_upstream_url(std::string_view url);

/// One upstream connection with its read buffer (bytes read past a response
/// stay with the connection they came from).
class UpstreamConnection {
 public:
  explicit UpstreamConnection(net::io_context& io) : plain_(std::make_unique<beast::tcp_stream>(io)) {}
  UpstreamConnection(net::io_context& io, net::ssl::context& ssl)
      : tls_(std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, ssl)) {}

  bool is_tls() const noexcept { return tls_ != nullptr; }
  beast::tcp_stream& tcp() noexcept { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  beast::tcp_stream& plain() noexcept { return *plain_; }
  beast::ssl_stream<beast::tcp_stream>& tls() noexcept { return *tls_; }
  beast::flat_buffer& buffer() noexcept { return buffer_; }

  /// True when the idle connection still looks usable: the peer has neither
  /// closed it nor sent anything unexpected (a non-blocking peek).
  bool looks_alive() noexcept;
  /// Closes the socket without a TLS close_notify (the connection is being discarded).
  void close() noexcept;

  std::chrono::steady_clock::time_point idle_since{};

 private:
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

/// Per-worker pool. Not thread-safe (one worker).
class UpstreamPool {
 public:
  /// `ssl` must outlive the pool; null for http:// upstreams.
  UpstreamPool(net::io_context& io, UpstreamTarget target, net::ssl::context* ssl, const config::ProxyConfig& cfg,
               ProxyStats& stats);
  ~UpstreamPool();

  /// An idle pooled connection, or a new one (connect + TLS handshake within
  /// upstream_connect_ms). The bool is true when the connection was reused.
  net::awaitable<std::tuple<boost::system::error_code, std::unique_ptr<UpstreamConnection>, bool>> acquire();

  /// Returns a connection whose last response was read completely and that
  /// the upstream keeps alive. Anything else must simply be dropped.
  void release(std::unique_ptr<UpstreamConnection> conn);

  /// Closes every idle connection (shutdown).
  void clear() noexcept;
  std::size_t idle_count() const noexcept { return idle_.size(); }
  const UpstreamTarget& target() const noexcept { return target_; }

 private:
  net::awaitable<boost::system::error_code> connect(UpstreamConnection& conn);

  net::io_context& io_;
  UpstreamTarget target_;
  net::ssl::context* ssl_;
  const config::ProxyConfig& cfg_;
  ProxyStats& stats_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;
};

}  // namespace dg::gateway
