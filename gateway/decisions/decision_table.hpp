#pragma once
/// The decisions the proxy enforces, by key fingerprint. Sharded; each shard
/// has its own shared_mutex, so the hot path (`active`) is one hash, one
/// shared lock and one map lookup, and never waits for another shard.
/// Expiry is by event time: an expired decision is ignored by `active` and
/// kept (for escalation) until `sweep` forgets it. Thread-safe.

#include <cstddef>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detectors/decision.hpp"

namespace dg::gateway {

class DecisionTable final : public detectors::DecisionView {
 public:
  explicit DecisionTable(std::size_t shards = 64);

  /// The decision in force for `key_fp` at `now`, or null. O(1).
  std::shared_ptr<const detectors::Decision> active(std::string_view key_fp, double now) const;

  /// The latest decision for the key, expired or not (PolicyEngine escalation).
  std::optional<detectors::Decision> latest(std::string_view key_fp) const override;

  /// Records `d` as the key's latest decision (replaces any earlier one).
  void put(detectors::Decision d);
  /// Forgets the key entirely. Returns true if it was known.
  bool erase(std::string_view key_fp);

  /// Every decision known (active and remembered), in no particular order.
  std::vector<detectors::Decision> all() const;
  /// Decisions in force at `now`.
  std::vector<detectors::Decision> active_all(double now) const;

  /// Forgets decisions that expired before `now - memory_s`; returns how many.
  std::size_t sweep(double now, double memory_s);

  std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::shared_ptr<const detectors::Decision>, Hash, std::equal_to<>>;
  struct Shard {
    mutable std::shared_mutex mutex;
    Map map;
  };
  Shard& shard_of(std::string_view key_fp) const;

  std::unique_ptr<Shard[]> shards_;
  std::size_t shard_count_;
};

}  // namespace dg::gateway
