#pragma once
/// The admin HTTP listener (127.0.0.1 by default), separate from the proxy
/// listener. Beast + C++20 coroutines on the io_context it is given. Every
/// route requires `Authorization: Bearer <token>` (compared in constant time)
/// unless registered as public (health probes); failures get 401 in the
/// OpenAI error shape. Routes are a table that other modules extend
/// (`add_route`, e.g. GET /metrics) before `start()`; `routes()` lists it
/// (docs/admin-api.openapi.yaml is checked against that list). A known path
/// asked with another method gets 405 with an `Allow` header.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dg::gateway {

struct AdminRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string path;    ///< without the query string
  std::string query;   ///< after '?', may be empty
  std::string body;
  std::string tail;    ///< for prefix routes: the part of the path after the prefix
};

struct AdminResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Builds an OpenAI-shaped error response; `param` names the offending
/// request field (omitted when empty).
AdminResponse admin_error(int status, std::string_view message, std::string_view type, std::string_view code,
                          std::string_view param = {});

/// One entry of the route table, as registered: `path` is exact, or a
/// template ending in one `{name}` segment (the rest of the request path).
struct AdminRoute {
  boost::beast::http::verb method;
  std::string path;
  bool is_public = false;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

struct AdminOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;              ///< 0 = any free port (tests)
  std::string token;                   ///< required; start() refuses an empty token
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds io_timeout{10000};
};

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ioc, AdminOptions options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// `path` is exact, or a template whose last segment is a parameter
  /// (`/v1/decisions/{key_fp}`: the rest of the path, never empty, goes to
  /// AdminRequest::tail). Public routes skip the token check. Call before start().
  void add_route(boost::beast::http::verb method, std::string path, AdminHandler handler, bool is_public = false);

  /// The route table, sorted by path then method.
  std::vector<AdminRoute> routes() const;

  /// Binds, listens and starts accepting. False with `error` on failure.
  bool start(std::string& error);
  /// Stops accepting (connections in progress finish). Thread-safe.
  void stop();
  std::uint16_t port() const { return port_; }

  /// Dispatches one request as the server would (routing + auth); for tests
  /// and for in-process use.
  AdminResponse dispatch(AdminRequest req, std::string_view authorization) const;

 private:
  struct Route {
    AdminHandler handler;
    bool is_public = false;
    std::string pattern;  ///< as registered (the template for prefix routes)
  };
  struct Impl;
  bool authorized(std::string_view authorization) const;
  /// "GET, POST" for a path (exact or prefix match), empty when unknown.
  std::string allowed_methods(const std::string& path) const;

  boost::asio::io_context& ioc_;
  AdminOptions options_;
  std::map<std::pair<std::string, boost::beast::http::verb>, Route> exact_;
  std::map<std::pair<std::string, boost::beast::http::verb>, Route> prefix_;  ///< keyed by "/v1/decisions/"
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace dg::gateway
