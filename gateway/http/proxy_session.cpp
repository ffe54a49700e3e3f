#include "gateway/http/proxy_session.hpp"

#include <string>

#include "gateway/http/client_connection.hpp"

namespace dg::gateway {

net::awaitable<void> run_session(WorkerContext& ctx, tcp::socket socket) {
  ctx.active_sessions.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.connections_active.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    WorkerContext& c;
    ~Leave() {
      c.active_sessions.fetch_sub(1, std::memory_order_relaxed);
      c.stats.connections_active.fetch_sub(1, std::memory_order_relaxed);
    }
  } leave{ctx};

  boost::system::error_code ec;
  std::string peer_ip;
  if (const auto ep = socket.remote_endpoint(ec); !ec) {
    const auto addr = ep.address();
    peer_ip = addr.is_v6() && addr.to_v6().is_v4_mapped() ? net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6()).to_string() : addr.to_string();
  }
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream client(std::move(socket));
  co_await serve_connection(ctx, client, peer_ip);
}

}  // namespace dg::gateway
