#pragma once
/// The few operations the session needs beyond read and write, for any
/// stream it talks to: a deadline (beast::tcp_stream and what wraps one, such
/// as ssl_stream<tcp_stream>) and closing. A stream without them (the unit
/// tests' beast::test::stream) gets no deadline and a plain close(). Resolved
/// at compile time: nothing is added on the hot path.

#include <chrono>

#include "gateway/net/net.hpp"

namespace dg::gateway {

/// Sets the deadline of the next operations on `s` (trap 6: before every operation).
template <class Stream>
void expire_after(Stream& s, std::chrono::milliseconds d) {
  auto& lowest = beast::get_lowest_layer(s);
  if constexpr (requires { lowest.expires_after(d); }) lowest.expires_after(d);
}

/// Half-closes the sending side (a FIN), keeping the receiving side open.
template <class Stream>
void shutdown_send(Stream& s) {
  if constexpr (requires { s.socket(); }) {
    boost::system::error_code ec;
    s.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

/// Closes `s` for good.
template <class Stream>
void close_stream(Stream& s) {
  boost::system::error_code ec;
  if constexpr (requires { s.socket(); }) s.socket().close(ec);
  else s.close();
}

}  // namespace dg::gateway
