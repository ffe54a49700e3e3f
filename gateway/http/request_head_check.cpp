#include "gateway/http/request_head_check.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace dg::gateway {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kAllow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

using boost::beast::iequals;  // ASCII case-insensitive, as header names and tokens compare

HeadRefusal refusal(int status, std::string_view code, std::string message, std::string_view allow = {}) {
  return HeadRefusal{status, code, std::move(message), allow};
}

}  // namespace

std::optional<HeadRefusal> check_request_head(http::request_header<>& head) {
  const auto verb = head.method();
  if (verb == http::verb::connect || verb == http::verb::trace)
    return refusal(405, "method_not_allowed",
                   "The " + std::string(head.method_string()) + " method is not supported by this API gateway.", kAllow);

  // Transfer codings: only chunked framing is read here; any other coding
  // would have to be decoded to find the body's end (RFC 9112 §6.1, §6.3).
  std::size_t codings = 0;
  bool chunked_last = false;
  const auto [tfirst, tlast] = head.equal_range(http::field::transfer_encoding);
  for (auto it = tfirst; it != tlast; ++it) {
    std::string_view v = it->value();
    while (true) {
      const auto comma = v.find(',');
      const auto coding = trim(v.substr(0, comma));
      if (!coding.empty()) {
        ++codings;
        chunked_last = iequals(coding, "chunked");
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  if (tfirst != tlast) {
    if (!chunked_last)
      return refusal(400, "invalid_transfer_encoding",
                     "A request's Transfer-Encoding must end with chunked (RFC 9112 section 6.3).");
    if (codings > 1)
      return refusal(501, "unsupported_transfer_encoding", "Only the chunked transfer coding is supported.");
  }

  if (head.version() >= 11) {
    const auto [hfirst, hlast] = head.equal_range(http::field::host);
    if (hfirst == hlast || std::next(hfirst) != hlast)
      return refusal(400, "invalid_host_header", "An HTTP/1.1 request needs exactly one Host header.");
  }

  const std::string_view target = head.target();
  if (target.empty() || target.front() == '/') return std::nullopt;
  if (target == "*") return refusal(400, "invalid_request_target", "The asterisk request target is not supported.");
  // Absolute form: read as an origin server reads it, by its path and query.
  const auto uri = boost::urls::parse_absolute_uri(target);
  if (!uri || uri->encoded_host().empty())
    return refusal(400, "invalid_request_target", "The request target is not a path or an absolute URI.");
  std::string origin_form(uri->encoded_path());
  if (origin_form.empty() || origin_form.front() != '/') origin_form.insert(origin_form.begin(), '/');
  if (uri->has_query()) {
    origin_form.push_back('?');
    origin_form.append(uri->encoded_query());
  }
  head.target(origin_form);
  return std::nullopt;
}

HeadFields head_fields(const http::fields& fields) {
  HeadFields out;
  for (const auto& f : fields) out.push_back(&f);
  std::sort(out.begin(), out.end());
  return out;
}

void drop_trailer_fields(http::fields& fields, const HeadFields& head) {
  for (auto it = fields.begin(); it != fields.end();) {
    if (std::binary_search(head.begin(), head.end(), static_cast<const void*>(&*it))) ++it;
    else it = fields.erase(it);
  }
}

}  // namespace dg::gateway
