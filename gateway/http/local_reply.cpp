#include "gateway/http/local_reply.hpp"

namespace dg::gateway {

namespace {
constexpr std::string_view kHealthPath = "/healthz";
}  // namespace

ProxyError request_too_large() {
  return ProxyError{http::status::payload_too_large, "invalid_request_error", "request_too_large",
                    "The request body is larger than this gateway accepts."};
}

bool is_health_probe(const http::request_header<>& req) {
  const auto target = std::string_view(req.target());
  const auto path = target.substr(0, target.find('?'));
  return path == kHealthPath && (req.method() == http::verb::get || req.method() == http::verb::head);
}

}  // namespace dg::gateway
