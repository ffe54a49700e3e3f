#include "gateway/http/exchange.hpp"

namespace dg::gateway {

std::optional<ProxyError> identity_refusal(const Identity& id, bool allow_anonymous) {
  switch (id.error) {
    case IdentityError::Ambiguous:
      return ProxyError{http::status::unauthorized, "invalid_request_error", "ambiguous_api_key",
                        "The request carries more than one API key (in '" + std::string(id.header) +
                            "'). Send exactly one, in Authorization (Bearer KEY), api-key or x-api-key."};
    case IdentityError::ConnectionNamesIdentity:
      return ProxyError{http::status::bad_request, "invalid_request_error", "invalid_connection_header",
                        "The Connection header may not name the identity header '" + std::string(id.header) + "'."};
    case IdentityError::None:
      break;
  }
  if (id.key.empty() && !allow_anonymous)
    return ProxyError{http::status::unauthorized, "invalid_request_error", "missing_api_key",
                      "You didn't provide an API key. Provide it in the Authorization header (Bearer KEY), "
                      "or in an api-key or x-api-key header."};
  return std::nullopt;
}

bool reads_response(detectors::Endpoint e) {
  using detectors::Endpoint;
  return e == Endpoint::ChatCompletions || e == Endpoint::Completions || e == Endpoint::Responses ||
         e == Endpoint::Embeddings || e == Endpoint::Messages;
}

// The product's exchange: a TCP client.
template net::awaitable<bool> handle_request<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&, const std::string&,
                                                               http::request<http::string_body>&,
                                                               std::chrono::steady_clock::time_point, double);

}  // namespace dg::gateway
