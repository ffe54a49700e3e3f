#pragma once
/// The admin HTTP listener (127.0.0.1 by default), separate from the proxy
/// listener. Beast + C++20 coroutines on the io_context it is given. Every
/// route requires `Authorization: Bearer <token>` (compared in constant time)
/// unless registered as public (health probes); failures get 401 in the
/// OpenAI error shape. Routes are a table that other modules extend
/// (`add_route`, e.g. GET /metrics) before `start()`.

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

/// Builds an OpenAI-shaped error response.
AdminResponse admin_error(int status, std::string_view message, std::string_view type, std::string_view code);

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

  /// `path` is exact, or a prefix when it ends with '/' (the rest goes to
  /// AdminRequest::tail). Public routes skip the token check. Call before start().
  void add_route(boost::beast::http::verb method, std::string path, AdminHandler handler, bool is_public = false);

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
  };
  struct Impl;
  bool authorized(std::string_view authorization) const;

  boost::asio::io_context& ioc_;
  AdminOptions options_;
  std::map<std::pair<std::string, boost::beast::http::verb>, Route> exact_;
  std::map<std::pair<std::string, boost::beast::http::verb>, Route> prefix_;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace dg::gateway
