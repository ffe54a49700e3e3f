#pragma once
/// How campaign findings reach the detection engine, live and in replay alike:
/// the linker's published memberships after each clustering, and a rotation
/// link (a young key that matches an actioned key) at once.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "detectors/campaign_linker.hpp"
#include "detectors/engine.hpp"

namespace dg::gateway {

/// Forwards every membership of the last published result to the engine as an
/// external "campaign" finding (after cluster()). Returns the number of keys forwarded.
std::size_t forward_memberships(const detectors::CampaignLinker& linker, detectors::Engine& engine, double now);

/// After linker.record(ex): a rotation link (young key matching an actioned
/// key) goes to the engine at once, so the same exchange is evaluated with it.
void forward_rotation_link(const detectors::CampaignLinker& linker, detectors::Engine& engine,
                           const detectors::Exchange& ex);

}  // namespace dg::gateway

namespace dg::gateway {

class DecisionStore;

/// The campaign linker's step of the exchange pipeline (ExchangePipeline),
/// live and in replay alike: records each finished exchange and hands a
/// rotation link to the engine at once, before the engine observes that
/// exchange; remembers the store's actioned keys (rotation memory).
/// Clustering runs beside it: on a wall-clock timer live
/// (CampaignRuntime calls cluster()), on event time in replay (before each
/// record, when due: CampaignLinker::maybe_cluster). Thread-safe as the
/// linker is; `linker` and `engine` must outlive this object.
class CampaignStage {
 public:
  enum class Clustering : std::uint8_t { Timer, EventTime };
  CampaignStage(detectors::CampaignLinker& linker, detectors::Engine& engine, Clustering clustering);

  /// The hot path: one exchange (nothing while the linker is disabled, so
  /// that a reload can switch it on without unwiring anything).
  void record(const detectors::Exchange& ex);
  /// Clusters as of `now` (event time) and forwards the memberships to the
  /// engine. Returns the number of keys forwarded (0 while disabled).
  std::size_t cluster(double now);
  /// The latest event time record() saw (0 before any).
  double latest_event_time() const noexcept { return latest_ts_.load(std::memory_order_relaxed); }
  /// Subscribes the linker's rotation memory to the store's decision changes
  /// (its extra listener).
  void attach(DecisionStore& store);


 private:
  detectors::CampaignLinker& linker_;
  detectors::Engine& engine_;
  const Clustering clustering_;
  std::atomic<double> latest_ts_{0};
};

}  // namespace dg::gateway
