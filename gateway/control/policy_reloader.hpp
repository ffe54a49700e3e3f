#pragma once
/// Hot reload of the enforcement policy. Polls the policy file every
/// `poll_interval` (content hash; no inotify needed) and reloads on SIGHUP or
/// on request (admin API). A valid file is parsed, validated and swapped into
/// the PolicyEngine atomically (detector state is untouched); an invalid one
/// is logged as a warning with `file:line:column: reason`, counted, and the
/// running policy stays. Runs on the io_context it is given.

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "config/policy_config.hpp"
#include "detectors/policy_engine.hpp"

namespace dg::gateway {

struct ReloadResult {
  bool ok = false;
  bool changed = false;    ///< a new snapshot was swapped in
  std::uint64_t version = 0;
  std::string error;       ///< `file:line:column: reason` when !ok
};

class PolicyReloader {
 public:
  PolicyReloader(boost::asio::io_context& ioc, config::PolicySource source, detectors::PolicyEngine& engine,
                 std::chrono::milliseconds poll_interval = std::chrono::seconds(1));

  /// First load at start-up: throws config::ConfigError on an invalid file.
  void load_initial(double now);

  /// Re-reads the file; `force` reloads even if its content is unchanged.
  /// Thread-safe.
  ReloadResult reload(double now, bool force);

  /// Starts polling and listening for SIGHUP (`handle_sighup`) on the io_context.
  void start(bool handle_sighup = true);
  void stop();

  /// Called after each successful swap with the new snapshot (logs, alerts).
  /// Set before start().
  void set_on_reload(std::function<void(const detectors::Policy&)> f) { on_reload_ = std::move(f); }

  /// Validates more of the reloaded document (e.g. the `detection` or
  /// `campaigns` section of the main config) before anything is swapped: it
  /// may throw ConfigError (the whole reload is rejected) and returns the
  /// action that applies it (may be empty), run right after the policy swap.
  /// Several steps run in the order added; every one validates before any
  /// commit runs. A step added after load_initial() first runs on the next
  /// reload. Add before start().
  using Prepare = std::function<std::function<void()>(const YAML::Node& root)>;
  void add_prepare(Prepare f);

  std::uint64_t reloads_ok() const { return ok_.load(std::memory_order_relaxed); }
  std::uint64_t reloads_failed() const { return failed_.load(std::memory_order_relaxed); }
  std::string last_error() const;
  const config::PolicySource& source() const { return source_; }

 private:
  void schedule_poll();
  void wait_signal();
  static double wall_now();

  boost::asio::io_context& ioc_;
  config::PolicySource source_;
  detectors::PolicyEngine& engine_;
  std::chrono::milliseconds poll_interval_;
  boost::asio::steady_timer timer_;
  boost::asio::signal_set signals_;
  mutable std::mutex mutex_;
  std::size_t last_hash_ = 0;      // content last seen (loaded or rejected)
  bool have_hash_ = false;
  std::uint64_t next_version_ = 1;
  std::string last_error_;
  std::atomic<std::uint64_t> ok_{0}, failed_{0};
  std::atomic<bool> stopped_{false};
  std::function<void(const detectors::Policy&)> on_reload_;
  std::vector<Prepare> prepares_;
};

}  // namespace dg::gateway
