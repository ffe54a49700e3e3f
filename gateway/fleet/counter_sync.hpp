#pragma once
/// Fleet mode, shared enforcement counters (issue #14): the control-loop
/// client that keeps gateway/enforce/shared_counters in step with Redis.
/// Every `period` it takes what changed (SharedCounters::take), sends it as
/// EVALSHA batches of the counter script (counter_wire.hpp; EVAL once on
/// NOSCRIPT) and stores each window's reply, the other instances' sum. One
/// flush in flight at a time; a worker never waits for it.
///
/// Fleet drives it: `start` when a Redis session is ready (every live count is
/// written again), `stop` when it is lost (the last known sums stay and age
/// out with their windows: fail-open).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/enforce/shared_counters.hpp"
#include "gateway/fleet/redis_connection.hpp"

namespace dg::gateway::fleet {

/// Mirrored to /metrics as dg_fleet_counter_* (gateway/app/metrics_wiring).
struct CounterSyncStats {
  std::atomic<std::uint64_t> flushes{0};  ///< flushes answered (every batch of one take replied)
  std::atomic<std::uint64_t> batches{0};  ///< EVALSHA/EVAL commands sent
  std::atomic<std::uint64_t> windows{0};  ///< window updates sent (writes and reads)
  std::atomic<std::uint64_t> errors{0};   ///< error replies (the batch's writes are sent again)
};

class CounterSync {
 public:
  /// Sends one command on the session's connection; false when it could not.
  using Send = std::function<bool(const std::vector<std::string>&, RedisConnection::Reply)>;

  CounterSync(boost::asio::io_context& control, SharedCounters& counters, std::string prefix, std::string instance,
              std::chrono::milliseconds period, std::function<double()> clock);
  CounterSync(const CounterSync&) = delete;
  CounterSync& operator=(const CounterSync&) = delete;

  /// Most window updates in one command.
  static constexpr std::size_t kMaxBatch = 256;

  /// A session is ready: rewrite every live count, then flush every period.
  void start(Send send);
  /// The session is gone: no more flushes until `start`.
  void stop();

  const CounterSyncStats& stats() const noexcept { return stats_; }

 private:
  void tick(std::uint64_t gen);
  void flush(std::uint64_t gen);
  void send_batch(std::uint64_t gen, std::shared_ptr<std::vector<SharedCounters::Update>> batch, bool by_sha,
                  std::shared_ptr<std::size_t> outstanding);
  void batch_done(std::uint64_t gen, std::shared_ptr<std::size_t> outstanding);

  SharedCounters& counters_;
  std::string prefix_, instance_;
  std::chrono::milliseconds period_;
  std::function<double()> clock_;
  boost::asio::steady_timer timer_;
  Send send_;
  std::uint64_t gen_ = 0;
  bool in_flight_ = false;
  CounterSyncStats stats_;
};

}  // namespace dg::gateway::fleet
