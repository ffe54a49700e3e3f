#include "gateway/enforce/campaign_forwarding.hpp"

#include "detectors/campaign_engine_adapter.hpp"
#include "gateway/decisions/decision_store.hpp"

namespace dg::gateway {

std::size_t forward_memberships(const detectors::CampaignLinker& linker, detectors::Engine& engine, double now) {
  return detectors::forward_campaign_findings(
      linker, now, [&](const std::string& fp, const detectors::Finding& f, double until) {
        auto m = linker.membership(fp);
        engine.set_external_finding(fp, f, until, m ? m->campaign_id : std::string{});
      });
}

void forward_rotation_link(const detectors::CampaignLinker& linker, detectors::Engine& engine,
                           const detectors::Exchange& ex) {
  // Rotation links appear between cluster runs, for young keys only (the
  // linker checks them in a key's first requests).
  if (auto m = linker.membership(ex.key_fp); m && m->campaign_id.starts_with("r-"))
    engine.set_external_finding(ex.key_fp, detectors::campaign_finding(*m), ex.ts + linker.config()->finding_ttl_s,
                                m->campaign_id);
}

}  // namespace dg::gateway

namespace dg::gateway {

CampaignStage::CampaignStage(detectors::CampaignLinker& linker, detectors::Engine& engine, Clustering clustering)
    : linker_(linker), engine_(engine), clustering_(clustering) {}

void CampaignStage::record(const detectors::Exchange& ex) {
  // Disabled: skip the rotation lookup's locks too.
  if (!linker_.enabled()) return;
  // Replay: clustering beside the stream of exchanges, every
  // cluster_interval_s of event time, its findings forwarded before this
  // exchange is recorded (live, the timer does it).
  if (clustering_ == Clustering::EventTime && linker_.maybe_cluster(ex.ts)) forward_memberships(linker_, engine_, ex.ts);
  if (ex.key_fp.empty()) return;
  linker_.record(ex);
  double seen = latest_ts_.load(std::memory_order_relaxed);
  while (ex.ts > seen && !latest_ts_.compare_exchange_weak(seen, ex.ts, std::memory_order_relaxed)) {
  }
  forward_rotation_link(linker_, engine_, ex);
}

std::size_t CampaignStage::cluster(double now) {
  // Disabled: nothing is published, and the last result (dropped by the
  // linker) must not be forwarded again.
  if (!linker_.enabled()) return 0;
  linker_.cluster(now);
  return forward_memberships(linker_, engine_, now);
}

void CampaignStage::attach(DecisionStore& store) {
  store.set_extra_listener([this](const detectors::Decision& d, std::string_view) {
    // The linker ignores allow/shadow; a created time keeps rotation in event time.
    linker_.note_actioned(d.key_fp, detectors::to_string(d.action), d.created);
  });
}

}  // namespace dg::gateway
