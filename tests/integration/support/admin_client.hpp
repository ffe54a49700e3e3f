#pragma once
/// A minimal HTTP/1.1 client for the admin API tests: one request per
/// connection, every operation bounded by a deadline (no test hangs).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dg::test {

struct HttpResult {
  int status = 0;  ///< 0 when the request failed (see error)
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string error;
};

/// Header fields added to a request as they are (repeats kept).
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

/// Sends `method target` to 127.0.0.1:`port` with an optional bearer token.
HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& token = {}, const std::string& body = {},
                        double timeout_s = 10, const ExtraHeaders& extra = {});

}  // namespace dg::test
