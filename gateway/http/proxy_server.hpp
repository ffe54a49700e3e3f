#pragma once
/// The proxy as an embeddable object: `distillguard` runs one, and integration
/// tests (and other modules' tests) run the real thing in-process.
///
///   gateway::ProxyServer server(cfg.proxy, hooks);
///   auto port = server.start();   // binds; port 0 in the config -> a free port
///   ...
///   server.stop();                // graceful: stop accepting, drain within the grace period
///
/// Workers: `cfg.workers` threads, each with its own io_context, listener and
/// upstream pool. Each worker binds its own SO_REUSEPORT listener on the same
/// port, so the kernel spreads connections and no socket ever crosses threads
/// (one shared acceptor would need a hand-off queue and a cross-thread post per
/// connection).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "config/proxy_config.hpp"
#include "gateway/http/prompt_analyzer_source.hpp"
#include "gateway/enforce/proxy_hooks.hpp"
#include "gateway/http/proxy_stats.hpp"

namespace dg::gateway {

class AccessLog;
class CaptureLog;

class ProxyServer {
 public:
  /// `hooks` null -> the default (allow everything) hooks.
  explicit ProxyServer(config::ProxyConfig cfg, std::shared_ptr<ProxyHooks> hooks = nullptr);
  explicit ProxyServer(const config::Config& cfg, std::shared_ptr<ProxyHooks> hooks = nullptr)
      : ProxyServer(cfg.proxy, std::move(hooks)) {}
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  /// The proxy analyzes every request's prompt text itself (once, where it
  /// extracts the features) with the analyzer this returns, typically
  /// `[&engine] { return engine.analyzer(); }`. Call before start().
  void set_prompt_analyzer(PromptAnalyzerSource source) { analyzer_ = std::move(source); }

  /// Binds the listeners and starts the worker threads; returns the bound port.
  /// Throws std::runtime_error (bad upstream URL, CA file, bind failure, capture file).
  std::uint16_t start();

  /// Graceful stop: closes the listeners, closes idle keep-alive connections,
  /// lets in-flight exchanges finish for up to `grace`, then closes the rest
  /// and joins the workers. Idempotent. Blocks; call from a non-worker thread.
  void stop(std::chrono::milliseconds grace);
  /// stop() with the configured shutdown grace.
  void stop();

  std::uint16_t port() const noexcept { return port_; }
  const ProxyStats& stats() const noexcept { return *stats_; }
  /// Connections currently open (all workers).
  std::size_t active_sessions() const noexcept;
  /// SIGUSR1: the capture log reopens by path before its next record. Thread-safe.
  void reopen_logs();
  /// The capture log, null when capture is off (tests flush it).
  CaptureLog* capture() noexcept { return capture_.get(); }
  /// Capture records lost to a failed write (0 when capture is off). Read at
  /// scrape time; the capture log is created by start(), before the admin
  /// thread that scrapes exists.
  std::uint64_t capture_write_failures() const noexcept;
  const config::ProxyConfig& config() const noexcept { return cfg_; }

  /// Signalled by a worker whenever one of its sessions ended (stop() waits
  /// on it, with the grace as its deadline).
  struct SessionsGone {
    std::mutex mutex;
    std::condition_variable cv;
    void notify() {
      { std::lock_guard lock(mutex); }  // a waiter between its check and its wait is not missed
      cv.notify_all();
    }
  };

 private:
  struct Worker;
  struct Tls;

  config::ProxyConfig cfg_;
  std::shared_ptr<ProxyHooks> hooks_;
  std::unique_ptr<ProxyStats> stats_;
  std::unique_ptr<CaptureLog> capture_;
  std::unique_ptr<Tls> tls_;
  std::shared_ptr<AccessLog> access_;
  std::unique_ptr<SessionsGone> sessions_gone_;  ///< before workers_: their sessions notify it
  std::vector<std::unique_ptr<Worker>> workers_;
  PromptAnalyzerSource analyzer_;
  std::uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace dg::gateway
