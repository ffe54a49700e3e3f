#pragma once
/// What the proxy refuses or normalises in a request head before anything
/// else reads it (RFC 9112): methods a reverse proxy for an API does not
/// tunnel or reflect, request-target forms, Host, and transfer codings it
/// cannot frame.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>

namespace dg::gateway {

struct HeadRefusal {
  int status = 400;
  std::string_view code;
  std::string message;
  std::string_view allow;  ///< for 405: the Allow header value
};

/// Checks `head` (its body not read yet). Refuses CONNECT and TRACE (405),
/// the authority and asterisk forms of the target (400), an HTTP/1.1 request
/// without exactly one Host (400, RFC 9112 §3.2), and a Transfer-Encoding
/// other than `chunked` alone (501; 400 when chunked is not the final coding,
/// §6.3: such a body has no reliable length). An absolute-form target
/// (`http://host/path?q`) is rewritten to its origin form (`/path?q`), as an
/// origin server reads it (§3.2.2). nullopt: the request may go on.
std::optional<HeadRefusal> check_request_head(boost::beast::http::request_header<>& head);

/// The fields of a head, to tell them from the trailer fields that reading a
/// chunked body adds later (Beast inserts those among the head's, next to
/// fields of the same name, so position does not tell them apart).
using HeadFields = std::vector<const void*>;
HeadFields head_fields(const boost::beast::http::fields& fields);

/// Erases every field not in `head`: the trailer fields of a chunked body
/// (RFC 9110 §6.5: they are not headers, and must not reach the upstream, or
/// name the key, as if they were).
void drop_trailer_fields(boost::beast::http::fields& fields, const HeadFields& head);

}  // namespace dg::gateway
