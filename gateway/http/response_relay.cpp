#include "gateway/http/response_relay.hpp"

namespace dg::gateway {

// The product's relays: plain and TLS upstreams to a TCP client.
template net::awaitable<RelayResult> forward_and_relay<beast::tcp_stream, beast::tcp_stream>(
    WorkerContext&, beast::tcp_stream&, beast::flat_buffer&, http::request<http::string_body>&, beast::tcp_stream&, unsigned, bool, bool,
    std::optional<std::uint64_t>, StreamBudget*, std::string_view);
template net::awaitable<RelayResult> forward_and_relay<beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>(
    WorkerContext&, beast::ssl_stream<beast::tcp_stream>&, beast::flat_buffer&, http::request<http::string_body>&, beast::tcp_stream&, unsigned, bool, bool,
    std::optional<std::uint64_t>, StreamBudget*, std::string_view);

}  // namespace dg::gateway
