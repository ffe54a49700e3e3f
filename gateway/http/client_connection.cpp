#include "gateway/http/client_connection.hpp"

namespace dg::gateway {

std::optional<ProxyError> unreadable_request_reply(boost::system::error_code ec, ReadPhase phase,
                                                   std::size_t head_bytes) {
  if (ec == http::error::body_limit) return request_too_large();
  if (phase == ReadPhase::Head) {
    if (ec == http::error::header_limit)
      return ProxyError{http::status::request_header_fields_too_large, "invalid_request_error",
                        "request_header_fields_too_large", "The request headers are too large."};
    // A connection that ends (or idles out) between requests is no error.
    const bool quiet_end = ec == http::error::end_of_stream || ec == net::error::eof ||
                           ec == net::error::operation_aborted || ec == beast::error::timeout ||
                           ec == net::error::connection_reset || ec == net::error::bad_descriptor;
    if (quiet_end && head_bytes == 0) return std::nullopt;
    if (ec == beast::error::timeout || ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return std::nullopt;
    return ProxyError{http::status::bad_request, "invalid_request_error", "malformed_request",
                      "The request is not valid HTTP/1.1."};
  }
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::connection_reset ||
      ec == net::error::operation_aborted)
    return std::nullopt;
  return ProxyError{http::status::bad_request, "invalid_request_error", "malformed_request",
                    "The request body is not valid HTTP/1.1 framing."};
}

// The product's connection: TCP.
template net::awaitable<void> serve_connection<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&,
                                                                 const std::string&);

}  // namespace dg::gateway
