#include "detectors/campaign_engine_adapter.hpp"

#include <cstdio>

namespace dg::detectors {

Finding campaign_finding(const CampaignMembership& m) {
  Finding f;
  f.detector = std::string(kCampaignDetector);
  f.score = m.score;
  char head[160];
  if (m.campaign_id.rfind("r-", 0) == 0)
    std::snprintf(head, sizeof head, "linked to an actioned key (%s), score %.2f", m.campaign_id.c_str() + 2, m.score);
  else
    std::snprintf(head, sizeof head, "member of campaign %s (%zu keys), score %.2f", m.campaign_id.c_str(), m.members, m.score);
  f.evidence.emplace_back(head);
  f.evidence.insert(f.evidence.end(), m.evidence.begin(), m.evidence.end());
  return f;
}

std::size_t forward_campaign_findings(const CampaignLinker& linker, double now, const ExternalFindingSink& sink) {
  std::size_t forwarded = 0;
  const double until = now + linker.config()->finding_ttl_s;
  linker.for_each_membership([&](const std::string& fp, const CampaignMembership& m) {
    sink(fp, campaign_finding(m), until);
    ++forwarded;
  });
  return forwarded;
}

}  // namespace dg::detectors
