#include "gateway/http/proxy_server.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/spdlog.h>

#include "gateway/observability/access_log.hpp"
#include "gateway/observability/capture_log.hpp"
#include "gateway/http/proxy_session.hpp"
#include "gateway/http/upstream_pool.hpp"

namespace dg::gateway {

namespace {
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}

struct ProxyServer::Tls {
  net::ssl::context ctx{net::ssl::context::tls_client};
};

struct ProxyServer::Worker {
  std::unique_ptr<net::io_context> io = std::make_unique<net::io_context>(1);
  std::unique_ptr<UpstreamPool> pool;
  std::unique_ptr<WorkerContext> ctx;
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*io);
  std::thread thread;

  ~Worker() {
    if (thread.joinable()) thread.join();
    // Sockets go before their io_context; the io_context goes before the
    // context its pending sessions (coroutine frames, destroyed with it) refer to.
    acceptor.reset();
    if (pool) pool->clear();
    io.reset();
  }
};

namespace {

net::awaitable<void> accept_loop(WorkerContext& ctx, tcp::acceptor& acceptor, ProxyServer::SessionsGone& gone) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUse);
    if (ec) {
      if (!acceptor.is_open() || ec == net::error::operation_aborted) co_return;
      // EMFILE and friends: counted as a warning, then keep accepting.
      spdlog::warn("accept failed: {}", ec.message());
      net::steady_timer backoff(ctx.io, std::chrono::milliseconds(50));
      co_await backoff.async_wait(kUse);
      continue;
    }
    if (ctx.draining) continue;  // socket closes as it goes out of scope
    net::co_spawn(ctx.io, run_session(ctx, std::move(socket)), [&gone](std::exception_ptr e) {
      // The session's frame is gone (active_sessions already counts it out):
      // wake a stop() waiting for the last one.
      gone.notify();
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {  // last-resort catch around a session
        spdlog::error("session ended by exception: {}", ex.what());
      }
    });
  }
}

}  // namespace

ProxyServer::ProxyServer(config::ProxyConfig cfg, std::shared_ptr<ProxyHooks> hooks)
    : cfg_(std::move(cfg)), hooks_(hooks ? std::move(hooks) : std::make_shared<ProxyHooks>()),
      stats_(std::make_unique<ProxyStats>()), sessions_gone_(std::make_unique<SessionsGone>()) {}

ProxyServer::~ProxyServer() { stop(std::chrono::milliseconds(0)); }

std::size_t ProxyServer::active_sessions() const noexcept {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->ctx->active_sessions.load(std::memory_order_relaxed);
  return n;
}

std::uint16_t ProxyServer::start() {
  if (running_) return port_;
  const auto target = parse_upstream_url(cfg_.upstream.url);
  if (!target) throw std::runtime_error("upstream.url is not a valid http:// or https:// URL: " + cfg_.upstream.url);
  if (target->tls) {
    tls_ = std::make_unique<Tls>();
    boost::system::error_code ec;
    tls_->ctx.set_default_verify_paths(ec);
    if (!cfg_.upstream.ca_file.empty()) {
      tls_->ctx.load_verify_file(cfg_.upstream.ca_file, ec);
      if (ec) throw std::runtime_error("upstream.ca_file " + cfg_.upstream.ca_file + ": " + ec.message());
    }
  }
  if (cfg_.capture.enabled)
    capture_ = std::make_unique<CaptureLog>(
        CaptureOptions{cfg_.capture.path, cfg_.capture.include_content, cfg_.capture.max_bytes, cfg_.capture.keep});
  auto access = std::make_shared<AccessLog>(cfg_.log.format);

  const auto address = net::ip::make_address(cfg_.listen.address);
  std::uint16_t port = cfg_.listen.port;
  const unsigned n = std::max(1u, cfg_.workers);
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->pool = std::make_unique<UpstreamPool>(*w->io, *target, tls_ ? &tls_->ctx : nullptr, cfg_, *stats_);
    w->ctx.reset(new WorkerContext(*w->io, cfg_, *hooks_, *stats_, *w->pool, capture_.get(), *access));
    w->ctx->analyzer = analyzer_;
    const tcp::endpoint ep(address, port);
    boost::system::error_code ec;
    w->acceptor->open(ep.protocol(), ec);
    if (!ec) w->acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) w->acceptor->set_option(reuse_port(true), ec);
    if (!ec) w->acceptor->bind(ep, ec);
    if (!ec) w->acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      workers_.clear();
      throw std::runtime_error("cannot listen on " + cfg_.listen.address + ":" + std::to_string(port) + ": " + ec.message());
    }
    port = w->acceptor->local_endpoint().port();  // the first worker fixes the port for the others
    workers_.push_back(std::move(w));
  }
  access_ = std::move(access);
  port_ = port;
  for (auto& w : workers_) {
    net::co_spawn(*w->io, accept_loop(*w->ctx, *w->acceptor, *sessions_gone_), net::detached);
    w->thread = std::thread([io = w->io.get()] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("worker: {}", e.what());
        }
      }
    });
  }
  running_ = true;
  spdlog::info("distillguard listening on {}:{} with {} worker(s), upstream {}", cfg_.listen.address, port_, n,
               cfg_.upstream.url);
  return port_;
}

std::uint64_t ProxyServer::capture_write_failures() const noexcept {
  return capture_ ? capture_->write_failures() : 0;
}

void ProxyServer::reopen_logs() {
  if (capture_) capture_->reopen();
}

void ProxyServer::stop() { stop(std::chrono::milliseconds(cfg_.timeouts.shutdown_grace_ms)); }

void ProxyServer::stop(std::chrono::milliseconds grace) {
  if (!running_) return;
  running_ = false;
  // 1. Stop accepting and close connections that wait for a request head.
  for (auto& w : workers_) {
    net::post(*w->io, [w = w.get()] {
      w->ctx->draining = true;
      boost::system::error_code ec;
      w->acceptor->close(ec);
      for (auto* c : w->ctx->idle_clients) c->socket().cancel(ec);
      w->pool->clear();
    });
  }
  // 2. Let in-flight exchanges finish within the grace period: woken by each
  // session's end, never later than the deadline.
  {
    std::unique_lock lock(sessions_gone_->mutex);
    sessions_gone_->cv.wait_for(lock, grace, [&] { return active_sessions() == 0; });
  }
  if (grace.count() > 0 && active_sessions() > 0) spdlog::warn("shutdown grace over; closing {} connection(s)", active_sessions());
  // 3. Close the rest.
  for (auto& w : workers_) w->io->stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  workers_.clear();
  if (capture_) capture_->flush();
}

}  // namespace dg::gateway
