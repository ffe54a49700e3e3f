#include "gateway/admin/admin_server.hpp"

// GCC 12 false positive on Asio's awaitable frame allocator (operator new/delete
// pairs through the thread-local recycling allocator); see GCC PR 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>

#include "gateway/net/openai_error.hpp"

namespace dg::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {
constexpr auto kToken = net::as_tuple(net::use_awaitable);
}

AdminResponse admin_error(int status, std::string_view message, std::string_view type, std::string_view code,
                          std::string_view param) {
  AdminResponse r;
  r.status = status;
  r.body = openai_error_body(message, type, code, param);
  return r;
}

struct AdminServer::Impl {
  explicit Impl(net::io_context& ioc) : acceptor(ioc) {}
  tcp::acceptor acceptor;

  // Coroutines are static functions, not lambdas: a lambda's captures would
  // die with the lambda object while the coroutine frame still uses them.
  static net::awaitable<void> session(AdminServer* self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(self->options_.max_body_bytes);
      stream.expires_after(self->options_.io_timeout);
      // Pass the parser itself, not parser.get(): its limits would be dropped.
      auto [rec, n] = co_await http::async_read(stream, buffer, parser, kToken);
      (void)n;
      AdminResponse res;
      bool keep_alive = false;
      unsigned version = 11;
      if (rec == http::error::end_of_stream || rec == net::error::eof) break;
      if (rec == http::error::body_limit) {
        res = admin_error(413, "Request body too large.", "invalid_request_error", "body_too_large");
      } else if (rec) {
        break;
      } else {
        auto& msg = parser.get();
        keep_alive = msg.keep_alive();
        version = msg.version();
        AdminRequest req;
        req.method = msg.method();
        std::string_view target = msg.target();
        auto q = target.find('?');
        req.path = std::string(target.substr(0, q));
        if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
        req.body = std::move(msg.body());
        // Which of two tokens would count is a guess a proxy in front of us
        // may make differently: refuse to choose.
        if (msg.count(http::field::authorization) > 1)
          res = admin_error(400, "Send the admin token in exactly one Authorization header.",
                            "invalid_request_error", "ambiguous_authorization");
        else
          res = self->dispatch(std::move(req), msg[http::field::authorization]);
      }
      http::response<http::string_body> out{static_cast<http::status>(res.status), version};
      out.set(http::field::server, "distillguard-admin");
      out.set(http::field::content_type, res.content_type);
      out.set(http::field::cache_control, "no-store");
      for (const auto& [k, v] : res.headers) out.set(k, v);
      out.body() = std::move(res.body);
      out.keep_alive(keep_alive);
      out.prepare_payload();
      stream.expires_after(self->options_.io_timeout);
      auto [wec, wn] = co_await http::async_write(stream, out, kToken);
      (void)wn;
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  static net::awaitable<void> accept_loop(AdminServer* self) {
    for (;;) {
      auto [aec, socket] = co_await self->impl_->acceptor.async_accept(kToken);
      if (aec == net::error::operation_aborted || !self->impl_->acceptor.is_open()) co_return;
      if (aec) continue;
      net::co_spawn(self->ioc_, session(self, std::move(socket)), net::detached);
    }
  }
};

AdminServer::AdminServer(net::io_context& ioc, AdminOptions options)
    : ioc_(ioc), options_(std::move(options)), impl_(std::make_unique<Impl>(ioc)) {}

AdminServer::~AdminServer() = default;

void AdminServer::add_route(http::verb method, std::string path, AdminHandler handler, bool is_public) {
  std::string pattern = path;
  // "/v1/decisions/{key_fp}": a prefix route on "/v1/decisions/".
  if (const auto slash = path.rfind('/'); !path.empty() && path.back() == '}' && slash != std::string::npos &&
                                          path.compare(slash + 1, 1, "{") == 0)
    path.resize(slash + 1);
  else if (!path.empty() && path.back() == '/')
    pattern += "{tail}";
  auto& table = !path.empty() && path.back() == '/' ? prefix_ : exact_;
  table[{std::move(path), method}] = Route{std::move(handler), is_public, std::move(pattern)};
}

std::vector<AdminRoute> AdminServer::routes() const {
  std::vector<AdminRoute> out;
  for (const auto* table : {&exact_, &prefix_})
    for (const auto& [k, r] : *table) out.push_back(AdminRoute{k.second, r.pattern, r.is_public});
  std::sort(out.begin(), out.end(), [](const AdminRoute& a, const AdminRoute& b) {
    return a.path != b.path ? a.path < b.path : a.method < b.method;
  });
  return out;
}

std::string AdminServer::allowed_methods(const std::string& path) const {
  std::vector<http::verb> verbs;
  for (const auto& [k, r] : exact_)
    if (k.first == path) verbs.push_back(k.second);
  if (verbs.empty()) {
    // The longest matching prefix owns the path (as in dispatch).
    std::size_t best = 0;
    for (const auto& [k, r] : prefix_)
      if (path.size() > k.first.size() && path.compare(0, k.first.size(), k.first) == 0 && k.first.size() >= best) {
        if (k.first.size() > best) verbs.clear();
        best = k.first.size();
        verbs.push_back(k.second);
      }
  }
  std::sort(verbs.begin(), verbs.end());
  std::string out;
  for (const auto v : verbs) {
    if (!out.empty()) out += ", ";
    out += std::string(http::to_string(v));
  }
  return out;
}

bool AdminServer::authorized(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (options_.token.empty() || authorization.size() <= kBearer.size() ||
      authorization.substr(0, kBearer.size()) != kBearer)
    return false;
  const auto presented = authorization.substr(kBearer.size());
  // Compare digests so that neither content nor length leaks through timing.
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(options_.token.data()), options_.token.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

AdminResponse AdminServer::dispatch(AdminRequest req, std::string_view authorization) const {
  const Route* route = nullptr;
  bool path_known = false;
  if (auto it = exact_.find({req.path, req.method}); it != exact_.end()) route = &it->second;
  if (!route) {
    // Longest matching prefix wins.
    std::size_t best = 0;
    for (const auto& [k, r] : prefix_) {
      if (req.path.size() > k.first.size() && req.path.compare(0, k.first.size(), k.first) == 0) {
        path_known = true;
        if (k.second == req.method && k.first.size() > best) {
          best = k.first.size();
          route = &r;
          req.tail = req.path.substr(k.first.size());
        }
      }
    }
  }
  if (!route)
    for (const auto& [k, r] : exact_)
      if (k.first == req.path) path_known = true;

  if (!(route && route->is_public) && !authorized(authorization)) {
    auto r = admin_error(401,
                         authorization.empty() ? "Missing bearer token for the admin API."
                                               : "Incorrect bearer token for the admin API.",
                         "invalid_request_error", "invalid_api_key");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!route) {
    if (path_known) {
      // RFC 9110 §15.5.6: a 405 lists the methods the target supports.
      const auto allow = allowed_methods(req.path);
      auto r = admin_error(405, "Method " + std::string(http::to_string(req.method)) + " is not allowed on " + req.path +
                                    " (allowed: " + allow + ").",
                           "invalid_request_error", "method_not_allowed");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return admin_error(404, "Unknown admin route " + req.path + ".", "invalid_request_error", "not_found");
  }
  try {
    return route->handler(req);
  } catch (const std::exception& e) {
    spdlog::error("admin {}: {}", req.path, e.what());
    return admin_error(500, "Internal error in the admin API.", "server_error", "internal_error");
  }
}

bool AdminServer::start(std::string& error) {
  if (options_.token.empty()) {
    error = "admin API: a bearer token is required (admin.token)";
    return false;
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(options_.address, ec);
  if (ec) {
    error = "admin API: invalid address '" + options_.address + "'";
    return false;
  }
  tcp::endpoint ep(address, options_.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "admin API: cannot listen on " + options_.address + ":" + std::to_string(options_.port) + ": " + ec.message();
    return false;
  }
  port_ = acc.local_endpoint().port();

  net::co_spawn(ioc_, Impl::accept_loop(this), net::detached);
  spdlog::info("admin API listening on {}:{}", options_.address, port_);
  return true;
}

void AdminServer::stop() {
  net::post(ioc_, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  });
}

}  // namespace dg::gateway
