#pragma once
/// Delivers alerts to the configured sinks from its own thread and
/// io_context, never from a proxy worker.
///
/// - `enqueue` is called from any thread and never waits on I/O: it takes a
///   short lock, applies grouping (alert_grouping.hpp), and pushes onto a
///   bounded queue; a full queue drops the alert and counts it.
/// - Each alert is posted to every sink: generic JSON (`type: webhook`) or a
///   Slack message (`type: slack`), signed with HMAC-SHA256 when the sink has
///   a secret (alert_signature.hpp).
/// - Failed attempts (5xx, 408, 429, timeouts, connection errors) are retried
///   with exponential backoff and full jitter: attempt k waits
///   uniform(0, min(max_backoff, base_backoff * 2^(k-1))); a 429's
///   Retry-After raises the wait (up to max_backoff). Other 4xx are final.
/// - An alert whose retry budget is spent, or that a sink rejected, is
///   appended to the dead-letter file (one JSON object per line).
/// - `shutdown(deadline)` stops accepting, lets queued and in-flight
///   deliveries finish until the deadline, then aborts them and dead-letters
///   what is left (reason "shutdown").
/// Everything is counted in DgMetrics (dg_alert_*).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/alerts_config.hpp"
#include "gateway/alerts/alert.hpp"
#include "gateway/alerts/alert_grouping.hpp"
#include "gateway/alerts/alert_http_client.hpp"
#include "gateway/observability/dg_metrics.hpp"

namespace dg::gateway {

class AlertDispatcher {
 public:
  enum class Admission { Queued, Grouped, Overflow, Closed };

  /// `metrics` must outlive the dispatcher. Nothing runs until start().
  AlertDispatcher(config::AlertsConfig config, DgMetrics& metrics);
  /// Calls shutdown() with the configured flush timeout if still running.
  ~AlertDispatcher();
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  /// Starts the delivery thread.
  void start();

  /// Thread-safe, non-blocking. Assigns an id when the alert has none.
  Admission submit(Alert alert);
  /// True when the alert was queued or deliberately grouped; false when it
  /// was dropped (queue full, or the dispatcher is shutting down).
  bool enqueue(Alert alert) {
    auto a = submit(std::move(alert));
    return a == Admission::Queued || a == Admission::Grouped;
  }

  /// Graceful stop: no new alerts, then up to `deadline` to drain. Returns
  /// true when every accepted alert reached a final state (delivered, rejected
  /// or dead-lettered after its retries) before the deadline.
  bool shutdown(std::chrono::milliseconds deadline);
  bool shutdown();

  /// Alerts queued but not yet taken by the delivery loop.
  std::size_t queued() const;
  const config::AlertsConfig& config() const noexcept { return config_; }

 private:
  struct SinkState;
  struct Pending;

  boost::asio::awaitable<void> run_loop();
  boost::asio::awaitable<void> deliver(std::shared_ptr<const Pending> pending, std::size_t sink_index);
  void dead_letter(const Pending& p, const SinkState& sink, std::string_view reason, int attempts,
                   const std::string& last_error);
  void delivery_done();
  void wake();
  std::chrono::milliseconds backoff_for(const config::RetryPolicy& retry, int attempt, double retry_after);

  config::AlertsConfig config_;
  DgMetrics& metrics_;

  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::deque<Alert> queue_;
  AlertGrouper grouper_;
  bool closed_ = false;
  bool loop_waiting_ = false;
  std::size_t in_flight_ = 0;  // deliveries (alert x sink) not finished
  bool loop_done_ = false;

  std::atomic<bool> aborting_{false};
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer wake_timer_;
  std::vector<std::unique_ptr<SinkState>> sinks_;
  std::set<boost::asio::steady_timer*> backoff_timers_;  // ioc thread only
  std::mt19937_64 rng_;                                    // ioc thread only
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace dg::gateway
