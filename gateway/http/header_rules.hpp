#pragma once
/// Header handling between client and upstream: hop-by-hop removal
/// (RFC 9110 §7.6.1), forwarding headers with trusted-proxy handling, and the
/// API key / tenant identity carried by the request.

#include <cstdint>
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

/// An upstream response head as this hop sends it on: the end-to-end fields
/// (strip_hop_by_hop) without the upstream's framing. Content-Length is this
/// hop's to set, and only where the status allows one (never on 1xx or 204,
/// RFC 9110 §8.6); Transfer-Encoding is hop-by-hop already.
void strip_hop_framing(boost::beast::http::fields& fields);

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

/// Why a request's credentials cannot be trusted to name one key.
enum class IdentityError : std::uint8_t {
  None,
  /// Two credentials (a repeated header, or different keys in two headers):
  /// the upstream might authenticate with either, so neither names the key.
  Ambiguous,
  /// `Connection` names an identity header: it would be stripped as hop-by-hop
  /// after the key was read from it, and the upstream would see another one.
  ConnectionNamesIdentity,
};

/// The credential a request carries, as the upstream will see it.
struct Identity {
  std::string_view key;            ///< empty: anonymous; valid while the fields live
  IdentityError error = IdentityError::None;
  std::string_view header;         ///< on error: the header concerned
};

/// The identity of a request: the credential of `Authorization` (a Bearer
/// token, or the whole value for another scheme), `api-key` or `x-api-key`,
/// among those listed in `key_headers`. Credentials are never chosen by order:
/// any repetition of a key header, or two different credentials, is
/// `Ambiguous`; a `Connection` header naming a key header or `tenant_header`
/// is `ConnectionNamesIdentity`. Credential headers not in `key_headers` are
/// removed before forwarding (strip_unlisted_credentials), so the upstream
/// authenticates with exactly the key that was identified.
Identity resolve_identity(const boost::beast::http::fields& fields, const std::vector<std::string>& key_headers,
                          std::string_view tenant_header = {});

/// Removes the credential headers (authorization, api-key, x-api-key) that
/// are not listed in `key_headers`.
void strip_unlisted_credentials(boost::beast::http::fields& fields, const std::vector<std::string>& key_headers);

}  // namespace dg::gateway
