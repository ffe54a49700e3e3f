#include "gateway/alerts/alert_dispatcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gateway/alerts/alert_signature.hpp"

namespace dg::gateway {

namespace net = boost::asio;
constexpr auto kToken = net::as_tuple(net::use_awaitable);
// Deliveries in flight at once (alert x sink); beyond it alerts wait in the
// bounded queue, which is what makes overflow visible when a sink is down.
constexpr std::size_t kMaxInFlight = 32;

struct AlertDispatcher::SinkState {
  config::AlertSinkConfig config;
  std::unique_ptr<AlertHttpClient> client;
  metrics::Counter* delivered = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Counter* dead_lettered = nullptr;
  metrics::Counter* failed_exhausted = nullptr;
  metrics::Counter* failed_rejected = nullptr;
  metrics::Counter* failed_shutdown = nullptr;
};

/// One alert taken from the queue, with its payloads built once.
struct AlertDispatcher::Pending {
  Alert alert;
  std::string json_body;
  std::string slack_body;
};

AlertDispatcher::AlertDispatcher(config::AlertsConfig config, DgMetrics& metrics)
    : config_(std::move(config)),
      metrics_(metrics),
      grouper_(config_.group_window_seconds),
      wake_timer_(ioc_),
      rng_(std::random_device{}()) {
  for (const auto& sc : config_.sinks) {
    auto s = std::make_unique<SinkState>();
    s->config = sc;
    s->client = std::make_unique<AlertHttpClient>(ioc_.get_executor(), sc);
    s->delivered = &metrics_.alert_deliveries.with({sc.name});
    s->retries = &metrics_.alert_retries.with({sc.name});
    s->dead_lettered = &metrics_.alert_dead_lettered.with({sc.name});
    s->failed_exhausted = &metrics_.alert_failures.with({sc.name, "retries_exhausted"});
    s->failed_rejected = &metrics_.alert_failures.with({sc.name, "rejected"});
    s->failed_shutdown = &metrics_.alert_failures.with({sc.name, "shutdown"});
    sinks_.push_back(std::move(s));
  }
}

AlertDispatcher::~AlertDispatcher() {
  if (started_ && !stopped_) shutdown();
}

void AlertDispatcher::start() {
  if (started_) return;
  started_ = true;
  work_.emplace(ioc_.get_executor());
  net::co_spawn(ioc_, run_loop(), net::detached);
  thread_ = std::thread([this] {
    try {
      ioc_.run();
    } catch (const std::exception& e) {
      spdlog::error("alert dispatcher stopped: {}", e.what());
    }
  });
}

AlertDispatcher::Admission AlertDispatcher::submit(Alert alert) {
  if (alert.id.empty()) alert.id = new_alert_id();
  const auto event = alert.event;
  bool wake_loop = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Admission::Closed;
    if (queue_.size() >= config_.queue_capacity) {
      metrics_.alert_queue_overflow.inc();
      return Admission::Overflow;
    }
    if (!grouper_.admit(alert)) {
      metrics_.alerts_grouped.inc();
      return Admission::Grouped;
    }
    queue_.push_back(std::move(alert));
    metrics_.alert_queue_depth.set(static_cast<double>(queue_.size()));
    wake_loop = loop_waiting_;
    loop_waiting_ = false;
  }
  metrics_.alerts_enqueued.with({to_string(event)}).inc();
  if (wake_loop) wake();
  return Admission::Queued;
}

void AlertDispatcher::wake() {
  net::post(ioc_, [this] { wake_timer_.cancel(); });
}

std::size_t AlertDispatcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

net::awaitable<void> AlertDispatcher::run_loop() {
  for (;;) {
    std::optional<Alert> next;
    bool finished = false;
    {
      std::lock_guard lock(mutex_);
      if (!queue_.empty() && (in_flight_ < kMaxInFlight || aborting_)) {
        next = std::move(queue_.front());
        queue_.pop_front();
        in_flight_ += sinks_.size();
        metrics_.alert_queue_depth.set(static_cast<double>(queue_.size()));
      } else if (closed_ && queue_.empty()) {
        finished = true;
        loop_done_ = true;
      } else {
        loop_waiting_ = true;
      }
    }
    if (finished) {
      idle_cv_.notify_all();
      co_return;
    }
    if (!next) {
      wake_timer_.expires_at(net::steady_timer::time_point::max());
      co_await wake_timer_.async_wait(kToken);
      continue;
    }
    auto pending = std::make_shared<Pending>();
    pending->alert = std::move(*next);
    pending->json_body = alert_to_json(pending->alert);
    for (const auto& s : sinks_)
      if (s->config.type == config::SinkType::Slack) {
        pending->slack_body = alert_to_slack(pending->alert);
        break;
      }
    for (std::size_t i = 0; i < sinks_.size(); ++i) net::co_spawn(ioc_, deliver(pending, i), net::detached);
    if (sinks_.empty()) idle_cv_.notify_all();
  }
}

std::chrono::milliseconds AlertDispatcher::backoff_for(const config::RetryPolicy& retry, int attempt,
                                                       double retry_after) {
  // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
  // spreads retries of many alerts instead of synchronising them.
  double cap = static_cast<double>(retry.base_backoff_ms) * std::pow(2.0, std::min(attempt - 1, 30));
  cap = std::min(cap, static_cast<double>(retry.max_backoff_ms));
  std::uniform_real_distribution<double> dist(0.0, cap);
  double ms = dist(rng_);
  if (retry_after >= 0) ms = std::max(ms, std::min(retry_after * 1000.0, static_cast<double>(retry.max_backoff_ms)));
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

net::awaitable<void> AlertDispatcher::deliver(std::shared_ptr<const Pending> pending, std::size_t sink_index) {
  auto& sink = *sinks_[sink_index];
  const auto& body = sink.config.type == config::SinkType::Slack ? pending->slack_body : pending->json_body;
  std::string last_error;
  std::string_view final_reason = "retries_exhausted";
  int attempts = 0;
  bool delivered = false;
  const int max_attempts = std::max(1, sink.config.retry.max_attempts);
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    if (aborting_) {
      final_reason = "shutdown";
      break;
    }
    ++attempts;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string ts = std::to_string(now);
    std::vector<std::pair<std::string, std::string>> headers = {
        {std::string(kTimestampHeader), ts},
        {"X-DistillGuard-Event", std::string(to_string(pending->alert.event))},
        {"X-DistillGuard-Alert-Id", pending->alert.id},
        {"X-DistillGuard-Attempt", std::to_string(attempt)}};
    if (!sink.config.secret.empty())
      headers.emplace_back(std::string(kSignatureHeader), sign_alert(sink.config.secret, ts, body));
    auto result = co_await sink.client->post(body, headers);
    if (result.ok()) {
      delivered = true;
      break;
    }
    last_error = result.describe();
    if (!result.retryable()) {
      final_reason = "rejected";
      break;
    }
    if (attempt == max_attempts) break;
    if (aborting_) {
      final_reason = "shutdown";
      break;
    }
    sink.retries->inc();
    net::steady_timer timer(ioc_, backoff_for(sink.config.retry, attempt, result.retry_after_seconds));
    backoff_timers_.insert(&timer);
    co_await timer.async_wait(kToken);
    backoff_timers_.erase(&timer);
  }
  if (delivered) {
    sink.delivered->inc();
  } else {
    if (final_reason == "rejected") sink.failed_rejected->inc();
    else if (final_reason == "shutdown") sink.failed_shutdown->inc();
    else sink.failed_exhausted->inc();
    spdlog::warn("alert {} to sink '{}' not delivered after {} attempt(s) ({}): {}", pending->alert.id,
                 sink.config.name, attempts, final_reason, last_error);
    dead_letter(*pending, sink, final_reason, attempts, last_error);
  }
  delivery_done();
}

void AlertDispatcher::delivery_done() {
  bool wake_loop = false;
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    wake_loop = loop_waiting_ && !queue_.empty();
    if (wake_loop) loop_waiting_ = false;
  }
  idle_cv_.notify_all();
  if (wake_loop) wake_timer_.cancel();  // already on the ioc thread
}

void AlertDispatcher::dead_letter(const Pending& p, const SinkState& sink, std::string_view reason, int attempts,
                                  const std::string& last_error) {
  if (config_.dead_letter_file.empty()) return;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string line = "{\"dead_lettered_at\":" + std::to_string(now) +
                     ",\"sink\":" + boost::json::serialize(boost::json::string(sink.config.name)) +
                     ",\"reason\":\"" + std::string(reason) + "\",\"attempts\":" + std::to_string(attempts) +
                     ",\"last_error\":" + boost::json::serialize(boost::json::string(last_error)) +
                     ",\"alert\":" + p.json_body + "}\n";
  // Only the ioc thread writes; open-append-close keeps the file valid for
  // readers and log rotation.
  std::FILE* f = std::fopen(config_.dead_letter_file.c_str(), "ab");
  if (!f) {
    spdlog::error("cannot open dead-letter file '{}'; alert {} lost", config_.dead_letter_file, p.alert.id);
    return;
  }
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  std::fclose(f);
  if (ok) sink.dead_lettered->inc();
  else spdlog::error("short write to dead-letter file '{}'; alert {} lost", config_.dead_letter_file, p.alert.id);
}

bool AlertDispatcher::shutdown() {
  return shutdown(std::chrono::milliseconds(static_cast<long long>(config_.flush_timeout_seconds * 1000)));
}

bool AlertDispatcher::shutdown(std::chrono::milliseconds deadline) {
  if (stopped_) return true;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  if (!started_) {
    // Never started: nothing can be delivered; keep what was queued on disk.
    std::deque<Alert> left;
    {
      std::lock_guard lock(mutex_);
      left.swap(queue_);
    }
    for (auto& a : left) {
      Pending p{std::move(a), {}, {}};
      p.json_body = alert_to_json(p.alert);
      for (auto& s : sinks_) {
        s->failed_shutdown->inc();
        dead_letter(p, *s, "shutdown", 0, "dispatcher never started");
      }
    }
    return left.empty();
  }
  wake();
  const auto until = std::chrono::steady_clock::now() + deadline;
  auto idle = [this] { return loop_done_ && in_flight_ == 0; };
  bool clean;
  {
    std::unique_lock lock(mutex_);
    clean = idle_cv_.wait_until(lock, until, idle);
  }
  if (!clean) {
    // Abort: cancel backoff waits and connections; the loop and deliveries
    // then dead-letter what is left with reason "shutdown".
    aborting_ = true;
    net::post(ioc_, [this] {
      for (auto* t : backoff_timers_) t->cancel();
      for (auto& s : sinks_) s->client->cancel_all();
      wake_timer_.cancel();
    });
    std::unique_lock lock(mutex_);
    idle_cv_.wait_for(lock, std::chrono::seconds(5), idle);
  }
  work_.reset();
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  return clean;
}

}  // namespace dg::gateway
