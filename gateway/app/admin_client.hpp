#pragma once
/// A blocking HTTP/1.1 client of the admin API for the `distillguard
/// decisions` command: a CLI, not the proxy, so no coroutines; each Beast
/// operation runs to completion on a private io_context before the next
/// (blocking like the synchronous API, but with the stream's deadline, which
/// the synchronous calls would ignore). One request per connection; connect,
/// write and read each bounded by `timeout`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dg::gateway {

/// `http://HOST[:PORT][/PREFIX]` (the admin listener speaks plain HTTP).
struct AdminUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string prefix;  ///< path prefix without a trailing '/', usually empty
};

/// Parses `url`; nullopt with `error` when it is not an http:// URL.
std::optional<AdminUrl> parse_admin_url(const std::string& url, std::string& error);

struct AdminCall {
  int status = 0;         ///< 0 when no response arrived (`error` says why)
  std::string body;
  std::string error;      ///< transport error
};

/// `method` is "GET", "POST", "DELETE"; `body` is sent as application/json when not empty.
AdminCall admin_call(const AdminUrl& url, const std::string& method, const std::string& target,
                     const std::string& token, const std::string& body,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace dg::gateway
