#include "gateway/http/upstream_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/url/parse.hpp>

namespace dg::gateway {

std::optional<UpstreamTarget> parse_upstream_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  const auto& u = *parsed;
  UpstreamTarget t;
  if (u.scheme() == "https") t.tls = true;
  else if (u.scheme() != "http") return std::nullopt;
  if (!u.has_authority() || u.encoded_host().empty()) return std::nullopt;
  t.host = std::string(u.encoded_host_address());
  if (u.host_type() == boost::urls::host_type::ipv6) t.host = std::string(u.host_ipv6_address().to_string());
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(u.encoded_host_and_port());
  t.base_path = std::string(u.encoded_path());
  while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
  return t;
}

bool UpstreamConnection::looks_alive() noexcept {
  auto& sock = tcp().socket();
  if (!sock.is_open() || buffer_.size() != 0) return false;
  char c;
  const auto n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: the upstream closed; > 0: bytes nobody asked for (or a TLS alert).
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamConnection::close() noexcept {
  boost::system::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().socket().close(ignored);
}

UpstreamPool::UpstreamPool(net::io_context& io, UpstreamTarget target, net::ssl::context* ssl,
                           const config::ProxyConfig& cfg, ProxyStats& stats)
    : io_(io), target_(std::move(target)), ssl_(ssl), cfg_(cfg), stats_(stats) {}

UpstreamPool::~UpstreamPool() { clear(); }

void UpstreamPool::clear() noexcept {
  for (auto& c : idle_) c->close();
  idle_.clear();
}

net::awaitable<std::tuple<boost::system::error_code, std::unique_ptr<UpstreamConnection>, bool>> UpstreamPool::acquire() {
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    // The liveness peek costs a syscall; a connection idle for only a few
    // milliseconds was just used successfully, so it is trusted as is.
    const bool fresh = std::chrono::steady_clock::now() - conn->idle_since < std::chrono::milliseconds(50);
    if (fresh ? conn->buffer().size() == 0 : conn->looks_alive()) {
      stats_.upstream_reused.fetch_add(1, std::memory_order_relaxed);
      co_return std::make_tuple(boost::system::error_code{}, std::move(conn), true);
    }
    conn->close();
  }
  auto conn = ssl_ ? std::make_unique<UpstreamConnection>(io_, *ssl_) : std::make_unique<UpstreamConnection>(io_);
  auto ec = co_await connect(*conn);
  if (ec) co_return std::make_tuple(ec, nullptr, false);
  stats_.upstream_connects.fetch_add(1, std::memory_order_relaxed);
  co_return std::make_tuple(ec, std::move(conn), false);
}

net::awaitable<boost::system::error_code> UpstreamPool::connect(UpstreamConnection& conn) {
  const auto deadline = std::chrono::milliseconds(cfg_.timeouts.upstream_connect_ms);
  tcp::resolver resolver(io_);
  auto [rec, endpoints] = co_await resolver.async_resolve(target_.host, target_.port, kUse);
  if (rec) co_return rec;
  auto& stream = conn.tcp();
  stream.expires_after(deadline);
  auto [cec, ep] = co_await stream.async_connect(endpoints, kUse);
  if (cec) co_return cec;
  boost::system::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  if (conn.is_tls()) {
    auto& tls = conn.tls();
    boost::system::error_code addr_ec;
    (void)net::ip::make_address(target_.host, addr_ec);
    // SNI only for names (RFC 6066 §3 forbids literal addresses).
    if (addr_ec && !SSL_set_tlsext_host_name(tls.native_handle(), target_.host.c_str()))
      co_return boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
    if (cfg_.upstream.tls_verify) {
      tls.set_verify_mode(net::ssl::verify_peer);
      tls.set_verify_callback(net::ssl::host_name_verification(target_.host));
    } else {
      tls.set_verify_mode(net::ssl::verify_none);
    }
    stream.expires_after(deadline);
    auto [hec] = co_await tls.async_handshake(net::ssl::stream_base::client, kUse);
    if (hec) co_return hec;
  }
  stream.expires_never();
  co_return boost::system::error_code{};
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> conn) {
  if (!conn) return;
  if (idle_.size() >= cfg_.upstream.pool_max_idle) {
    conn->close();
    return;
  }
  // Trap: an expired tcp_stream timer fails the next operation at once.
  conn->tcp().expires_never();
  conn->idle_since = std::chrono::steady_clock::now();
  idle_.push_back(std::move(conn));
}

}  // namespace dg::gateway
