#pragma once
/// The campaign linker in the live proxy, beside the hot path:
///
///   - every finished exchange is recorded (O(1), one shard lock) by the
///     enforcer's exchange pipeline through `stage()`; a young key that
///     matches an actioned key (rotation) gets its finding at once, before
///     the policy sees it;
///   - a timer on this object's own thread runs cluster() every
///     `campaigns.live_cluster_interval_s` wall-clock seconds (default 5) with
///     the latest event time seen, and forwards the memberships to the engine
///     as external "campaign" findings (so policies act on members);
///   - decisions that throttle/block/degrade a key are remembered through
///     note_actioned (rotation); GET /v1/campaigns lists the published result.
///
///   CampaignRuntime campaigns(cfg, engine);
///   auto enforcement = Enforcement::create(cfg, &engine, now, campaigns.admin_provider());
///   enforcement->enforcer().set_campaigns(&campaigns.stage());
///   campaigns.attach(enforcement->store());
///   ProxyServer server(cfg, obs->hooks());
///   enforcement->reloader().add_prepare(campaigns.reload_hook(cfg.path));  // inline policy only
///   campaigns.start(); ... server.stop(); campaigns.stop();
///
/// Pipeline step, decision listener and timer are installed even when the section says
/// `enabled: false`, so that a reload can switch the linker on (a disabled
/// linker returns at once from record() and cluster()).
///
/// Lifetime: outlives the Enforcer whose pipeline records into it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "detectors/campaign_linker.hpp"
#include "detectors/engine.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/control/policy_reloader.hpp"
#include "gateway/enforce/campaign_forwarding.hpp"

namespace dg::gateway {

/// JSON list of campaigns (id, score, members, member_fps, evidence) for the admin API.
boost::json::value campaigns_to_json(const detectors::CampaignLinker& linker);

class CampaignRuntime {
 public:
  /// The timer runs cluster() every `config.live_cluster_interval_s` (wall time).
  CampaignRuntime(detectors::CampaignConfig config, detectors::Engine& engine);
  ~CampaignRuntime();
  CampaignRuntime(const CampaignRuntime&) = delete;
  CampaignRuntime& operator=(const CampaignRuntime&) = delete;

  bool enabled() const noexcept { return linker_.enabled(); }

  /// The linker's step of the exchange pipeline (Enforcer::set_campaigns).
  CampaignStage& stage() noexcept { return stage_; }
  /// Subscribes to the store's decision changes (rotation memory).
  void attach(DecisionStore& store);
  /// The admin API's campaign list provider.
  std::function<boost::json::value()> admin_provider();

  /// Clusters as of `now` (event time) and forwards findings to the engine.
  /// Returns the number of keys forwarded. The timer calls it with the latest
  /// event time; tests call it directly.
  std::size_t cluster(double now);
  /// cluster() with the latest event time recorded (no-op before any exchange).
  std::size_t cluster_latest();

  void start();
  void stop();

  /// Hot reload: applies `next` to the linker (restart-only fields keep their
  /// values and are logged as warnings, "campaigns.X changes only on restart")
  /// and re-arms the timer when the live interval changed. Returns the names of
  /// the ignored fields. Thread-safe.
  std::vector<std::string> reconfigure(detectors::CampaignConfig next);

  /// A PolicyReloader prepare step for the main config file `path`: parses and
  /// validates its `campaigns:` section (ConfigError with file:line:column
  /// rejects the whole reload) and returns the commit that calls reconfigure().
  PolicyReloader::Prepare reload_hook(std::string path);

  /// Wall time between timer cluster runs.
  std::chrono::milliseconds interval() const {
    return std::chrono::milliseconds(interval_ms_.load(std::memory_order_relaxed));
  }

  detectors::CampaignLinker& linker() noexcept { return linker_; }
  double latest_event_time() const noexcept { return stage_.latest_event_time(); }

 private:
  void schedule();

  detectors::CampaignLinker linker_;
  CampaignStage stage_;  ///< record, rotation link, rotation memory: the same step replay runs
  std::atomic<std::int64_t> interval_ms_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::thread thread_;
};

}  // namespace dg::gateway
