#include "gateway/enforce/campaign_forwarding.hpp"

#include "detectors/campaign_engine_adapter.hpp"

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
