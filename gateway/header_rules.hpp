#pragma once
/// Header handling between client and upstream: hop-by-hop removal
/// (RFC 9110 §7.6.1), forwarding headers with trusted-proxy handling, and the
/// API key / tenant identity carried by the request.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/fields.hpp>

#include "config/proxy_config.hpp"

namespace dg::gateway {

/// Removes Connection and every header it names, Keep-Alive, TE, Trailer,
/// Transfer-Encoding, Upgrade and Proxy-* (Proxy-Connection, Proxy-Authorization...).
void strip_hop_by_hop(boost::beast::http::fields& fields);

/// Where a request came from, after believing (or not) its forwarding headers.
struct Forwarding {
  std::string client_ip;        ///< the believed client address
  std::string x_forwarded_for;  ///< value to send upstream
  std::string x_forwarded_proto;
  bool peer_trusted = false;
};

/// `peer_ip` is the TCP peer. Its X-Forwarded-For / X-Forwarded-Proto are
/// believed only when the peer lies in `trusted`; then the client is the
/// right-most untrusted address of the chain.
Forwarding resolve_forwarding(std::string_view peer_ip, std::string_view x_forwarded_for,
                              std::string_view x_forwarded_proto, const std::vector<config::Cidr>& trusted);

/// Replaces the request's forwarding headers by `fwd` (and drops Forwarded,
/// X-Real-IP, X-Forwarded-Host when the peer is not trusted).
void apply_forwarding(boost::beast::http::fields& fields, const Forwarding& fwd);

/// The API key presented by the request: `Authorization: Bearer K`, `api-key: K`
/// or `x-api-key: K`, looked up in `header_order`. Empty when none.
std::string_view extract_api_key(const boost::beast::http::fields& fields, const std::vector<std::string>& header_order);

}  // namespace dg::gateway
