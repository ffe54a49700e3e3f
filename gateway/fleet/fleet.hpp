#pragma once
/// Fleet mode, decisions part (issue #14; docs/fleet.md): every decision this
/// instance's DecisionStore applies (detector or operator) is written to one
/// Redis hash of current decisions and PUBLISHed, atomically, by a Lua script
/// that keeps the newer of two decisions for a key; every instance
/// subscribes and applies what others decided to its own store, audited as
/// "fleet/<instance>/<actor>". On (re)connect an instance subscribes, loads
/// the hash, then publishes what it decided while Redis was away.
///
/// hiredis writes with write(2), not send(MSG_NOSIGNAL): the process must
/// ignore SIGPIPE (run_proxy does, at startup, before any thread exists), or
/// a write to a Redis that just died ends it.
///
/// Threads: Redis I/O, timers and the pending map live on the control-plane
/// io_context given to the constructor; the store listener (any thread,
/// workers included) only copies the decision and posts it there. A worker
/// never waits for Redis; the request path reads the local DecisionTable.
///
///   Fleet fleet(control_ioc, store, options, clock);
///   fleet.attach();   // before serving: the store listener
///   fleet.start();    // connects in the background; serving goes on meanwhile
///   ...               // control loop stopped and joined
///   fleet.stop();

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/shared_counters.hpp"
#include "gateway/fleet/backoff.hpp"
#include "gateway/fleet/counter_sync.hpp"
#include "gateway/fleet/decision_wire.hpp"
#include "gateway/fleet/redis_connection.hpp"

namespace dg::gateway::fleet {

struct FleetOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
  std::string password;  ///< AUTH when not empty (never logged)
  std::string prefix = "dg";
  std::string instance;  ///< this instance's id (not empty)
  std::chrono::milliseconds connect_timeout{2000};
  /// Reconnect delays (ReconnectBackoff): the n-th retry after a loss waits
  /// a uniformly random time in [0, min(backoff_max, backoff_min * 2^n)].
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{2000};
  std::uint64_t backoff_seed = 0;  ///< the jitter's seed; 0 = a random one (every instance its own)
  std::chrono::milliseconds ping_period{1000};  ///< liveness check; 3 unanswered periods = down
  /// Shared throttle and budget counters: flushed to Redis this often
  /// (counter_sync.hpp); the overshoot of a shared limit is about one period
  /// of the fleet's admissions for the key.
  std::chrono::milliseconds counter_period{50};
};

/// Counters mirrored to /metrics as dg_fleet_* (gateway/app/metrics_wiring).
struct FleetStats {
  std::atomic<bool> connected{false};           ///< subscribed and the current set loaded
  std::atomic<std::uint64_t> commands{0};       ///< Redis commands sent (both connections)
  std::atomic<std::uint64_t> errors{0};         ///< failed connects, error replies, lost connections, bad messages
  std::atomic<std::uint64_t> reconnects{0};     ///< sessions established after the first
  std::atomic<std::uint64_t> published{0};      ///< local decisions written and published
  std::atomic<std::uint64_t> superseded{0};     ///< local decisions Redis already had a newer one for
  std::atomic<std::uint64_t> received{0};       ///< decisions of other instances applied here
  std::atomic<std::uint64_t> pending{0};        ///< local decisions not yet acknowledged by Redis (gauge)
};

class Fleet {
 public:
  /// `clock`: Unix seconds (expiry of received decisions).
  Fleet(boost::asio::io_context& control, DecisionStore& store, FleetOptions options, std::function<double()> clock);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  /// Installs the store's fleet listener. Call once, before serving.
  void attach();
  /// Starts connecting (posted onto the control loop).
  void start();
  /// Closes the connections. Call with the control loop stopped (or from it).
  void stop();

  const FleetStats& stats() const noexcept { return stats_; }
  /// The shared enforcement counters the enforcer counts in (Enforcer::set_shared_counters).
  SharedCounters& counters() noexcept { return counters_; }
  const CounterSyncStats& counter_stats() const noexcept { return counter_sync_.stats(); }
  const std::string& instance() const noexcept { return options_.instance; }
  const std::string& hash_key() const noexcept { return hash_key_; }
  const std::string& channel() const noexcept { return channel_; }

 private:
  struct Pending {
    std::string text;     ///< encoded WireDecision
    std::string created;  ///< the decision's `created`, as the script compares it
    bool in_flight = false;
  };
  void on_local(WireDecision w);
  /// Publishes one pending key (EVAL); false when the connection refused it.
  bool send_one(const std::string& fp, Pending& p);
  void connect();
  void on_connected(std::uint64_t gen);
  void after_auth(std::uint64_t gen, RedisConnection& c, std::function<void()> next);
  void load_current(std::uint64_t gen);
  void on_message(std::uint64_t gen, const redisReply* r);
  void apply_remote(const WireDecision& w);
  void send_pending();
  void ping(std::uint64_t gen);
  void lost(std::uint64_t gen, const char* why);
  void schedule_reconnect();
  bool send(RedisConnection& c, const std::vector<std::string>& args, RedisConnection::Reply done);

  boost::asio::io_context& ioc_;
  DecisionStore& store_;
  FleetOptions options_;
  std::function<double()> clock_;
  std::string hash_key_, channel_;
  FleetStats stats_;

  // Before the connections: their close may still call a counter callback.
  SharedCounters counters_;
  CounterSync counter_sync_;

  // Control loop only.
  RedisConnection cmd_;
  RedisConnection sub_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer ping_timer_;
  std::uint64_t gen_ = 0;           ///< session generation: callbacks of an older one are ignored
  int connected_count_ = 0;         ///< connections of this session up
  bool ready_ = false;              ///< subscribed and loaded: local decisions go out at once
  bool ever_ready_ = false;
  bool down_logged_ = false;
  bool stopped_ = false;
  ReconnectBackoff backoff_;
  std::chrono::steady_clock::time_point ping_sent_{};
  bool ping_outstanding_ = false;
  std::map<std::string, Pending, std::less<>> pending_;  ///< key_fp -> latest local decision to publish
  std::shared_ptr<std::atomic<Fleet*>> self_;             ///< the store listener's way back (null after stop)
};

}  // namespace dg::gateway::fleet
