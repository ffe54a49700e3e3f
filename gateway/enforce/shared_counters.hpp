#pragma once
/// Fleet mode's shared enforcement counters, the local side (issue #14;
/// docs/fleet.md "Shared counters"). No I/O: workers count here and read the
/// other instances' share; the control loop (gateway/fleet/counter_sync)
/// takes what changed, writes it to Redis and stores the replies.
///
/// Per (kind, key): this instance's count in the current and the previous
/// epoch-aligned window (index = floor(now / window)), and the last known
/// sum of every other instance's count in the same two windows. The
/// estimate at `now` is HAProxy's freq_ctr, prev * (1 - elapsed/window) +
/// curr, over own + others. Every instance names the same windows without
/// talking to the others.
///
///   worker:       admit(Throttle, fp, 60, now, limit, take)   checks and counts in one step
///                 add(Budget, fp, window, now, tokens)         a finished exchange
///                 estimate(Budget, fp, window, now).others      read with the local budget
///   control loop: take(now) -> writes and reads to send; settle(...) with the replies
///
/// Overshoot: a request admitted elsewhere reaches this instance's estimate
/// after at most one flush period plus two round trips. A key this instance
/// has not counted or read within `kRefreshS` is not refreshed, so its first
/// request after a quiet spell counts without the others' newest share.
///
/// Thread-safe: one short lock per shard; `take` and `settle` never hold two.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dg::gateway {

enum class SharedCounterKind : std::uint8_t {
  Throttle,  ///< admitted requests of a throttled key (window 60 s)
  Budget,    ///< output tokens counted against a key's budget (the policy's window)
};

class SharedCounters {
 public:
  /// Entries are kept while touched within two windows (at most `max_keys`:
  /// a key beyond the cap is counted locally only, as without fleet mode).
  explicit SharedCounters(std::size_t max_keys = 200000);
  SharedCounters(const SharedCounters&) = delete;
  SharedCounters& operator=(const SharedCounters&) = delete;

  /// Keys read or counted within this many seconds are refreshed by every flush.
  static constexpr double kRefreshS = 10;

  struct Estimate {
    double own = 0;     ///< this instance's sliding count
    double others = 0;  ///< the other instances' sliding count, as last synced
    /// Of the previous window, what still weighs (1 - elapsed/window), and the
    /// counts behind the estimate (for Retry-After).
    double prev_weight = 0, prev_total = 0, curr_total = 0;
    double total() const noexcept { return own + others; }
  };

  /// The key's estimate at `now` (marks it read: the next flushes refresh it).
  Estimate estimate(SharedCounterKind kind, std::string_view key_fp, double window_s, double now);
  /// Adds `amount` to this instance's count of the window holding `now`.
  void add(SharedCounterKind kind, std::string_view key_fp, double window_s, double now, double amount);
  /// Checks `estimate + amount <= limit` and, when `take`, counts `amount`,
  /// in one step (two workers cannot both pass on the last unit). Returns
  /// the estimate before counting; `ok` says whether it fitted.
  struct Admission {
    bool ok = false;
    Estimate before;
  };
  Admission admit(SharedCounterKind kind, std::string_view key_fp, double window_s, double now, double limit,
                  double amount, bool take);

  /// One window of one key to sync: this instance's count (`write`) or a read.
  struct Update {
    SharedCounterKind kind{};
    std::string key_fp;
    double window_s = 0;
    std::int64_t index = 0;
    std::int64_t own = 0;
    bool write = false;
  };
  /// Control loop: what to send now (counts changed since their last write,
  /// and reads of every key touched within kRefreshS); drops expired keys.
  std::vector<Update> take(double now);
  /// Control loop: the other instances' sum for `u`'s window (the reply).
  void settle(const Update& u, double others);
  /// Control loop: `u` was not written (error reply, lost connection): write again.
  void retry(const Update& u);
  /// Control loop, on a new Redis session: every live count is written
  /// again (Redis may have restarted empty; writes are absolute, so this
  /// counts once).
  void rewrite_all();

  std::size_t size() const;

 private:
  struct Entry {
    double window_s = 0;
    std::int64_t index = 0;           ///< the current window
    double own_curr = 0, own_prev = 0;
    double others_curr = 0, others_prev = 0;
    double last_touch = 0;
    bool curr_dirty = false;          ///< own_curr changed since its last write
    bool prev_dirty = false;          ///< own_prev not written since it became the previous window
    bool prev_read = false;           ///< read the previous window's final sum once after a roll
    bool queued = false;              ///< in the shard's touched list
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;  ///< "<kind><key_fp>"
    std::vector<std::string> touched;                ///< ids with something to send or refresh
  };
  static constexpr std::size_t kShards = 16;

  static std::string id_of(SharedCounterKind kind, std::string_view key_fp);
  Shard& shard_of(std::string_view id) const;
  /// The entry (created when absent and below the cap; null at the cap),
  /// rolled to `now`'s window and queued for the next flush. Lock held.
  Entry* touch(Shard& s, const std::string& id, double window_s, double now);
  static void roll(Entry& e, double window_s, double now);
  /// Puts the entry in the shard's touched list (once). Lock held.
  static void queue(Shard& s, const std::string& id, Entry& e);
  /// Calls f(shard, id, entry, current) under the lock when `u`'s window is
  /// the key's current (current = true) or previous one.
  template <class F>
  void with_window(const Update& u, F f);
  static Estimate estimate_of(const Entry& e, double now);

  std::size_t per_shard_cap_;
  std::unique_ptr<Shard[]> shards_;
  double last_sweep_ = 0;  ///< control loop only (take)
};

}  // namespace dg::gateway
