#pragma once
/// What every connection of a worker shares: the configuration, the hooks,
/// the counters, the upstream pool and the logs.

#include <atomic>
#include <unordered_set>

#include "config/proxy_config.hpp"
#include "gateway/enforce/proxy_hooks.hpp"
#include "gateway/http/prompt_analyzer_source.hpp"
#include "gateway/http/proxy_stats.hpp"
#include "gateway/http/upstream_pool.hpp"
#include "gateway/net/net.hpp"
#include "gateway/observability/access_log.hpp"
#include "gateway/observability/capture_log.hpp"

namespace dg::gateway {

/// Everything a session needs from its worker. Owned by the worker; the
/// mutable parts are touched only on the worker's thread, except
/// `active_sessions` which the stopping thread reads.
struct WorkerContext {
  WorkerContext(net::io_context& io_, const config::ProxyConfig& cfg_, ProxyHooks& hooks_, ProxyStats& stats_,
                UpstreamPool& pool_, CaptureLog* capture_, const AccessLog& access_)
      : io(io_), cfg(cfg_), hooks(hooks_), stats(stats_), pool(pool_), capture(capture_), access(access_) {}

  net::io_context& io;
  const config::ProxyConfig& cfg;
  ProxyHooks& hooks;
  ProxyStats& stats;
  UpstreamPool& pool;
  CaptureLog* capture = nullptr;  ///< null when capture is off
  const AccessLog& access;
  /// Prompt analysis of each request (null: the prompt features stay empty).
  PromptAnalyzerSource analyzer;

  bool draining = false;                            ///< finish in-flight work, accept nothing new
  std::unordered_set<beast::tcp_stream*> idle_clients;  ///< waiting for a request head (closed on drain)
  std::atomic<std::size_t> active_sessions{0};
};

}  // namespace dg::gateway
