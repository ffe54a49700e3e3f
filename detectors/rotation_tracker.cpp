#include "detectors/rotation_tracker.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "detectors/campaign_format.hpp"

namespace dg::detectors::campaign {

ActionedPrint print_of(std::string_view fp, const KeySketch& sk) {
  ActionedPrint p;
  p.key_fp = std::string(fp);
  p.last_seen = sk.last_seen;
  std::array<Slot, 4> t = sk.templates;
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& s : t) {
    if (s.count == 0 || p.ntemplates == 2) break;
    p.templates[static_cast<std::size_t>(p.ntemplates++)] = s.id;
  }
  if (const auto* best = top_net(sk)) p.net = best->net;
  p.params = top_slot(sk.params).count > 0 ? top_slot(sk.params).id : 0;
  return p;
}

bool may_rotate_from(const ActionedPrint& old, const ActionedPrint& mine, double first_seen, double observed_from,
                     const CampaignConfig& c) {
  if (old.key_fp == mine.key_fp || old.params != mine.params || !(old.net == mine.net)) return false;
  if (first_seen < old.ts - c.rotation_slack_s || first_seen > old.ts + c.rotation_window_s) return false;
  if (is_flagged(old) && (first_seen < old.ts || !(old.refreshed > first_seen) || old.last_seen >= first_seen ||
                          first_seen < observed_from + c.timing_warmup_s))
    return false;
  bool same_template = false;
  for (int i = 0; i < old.ntemplates && !same_template; ++i)
    for (int j = 0; j < mine.ntemplates && !same_template; ++j)
      same_template = std::popcount(old.templates[static_cast<std::size_t>(i)] ^
                                    mine.templates[static_cast<std::size_t>(j)]) <= c.template_max_hamming;
  return same_template;
}

CampaignMembership rotation_membership(const ActionedPrint& old, const ActionedPrint& mine, double first_seen,
                                       std::uint32_t requests, const CampaignConfig& c) {
  CampaignMembership m;
  m.campaign_id = "r-" + old.key_fp;
  double gap = first_seen - old.ts;
  if (is_flagged(old)) {
    const auto chain = old.chain + 1;
    m.members = chain;
    m.score = chain >= c.rotation_chain_keys ? c.rotation_chain_score : 0;
    m.evidence.push_back("key " + std::to_string(chain) + " of a succession from client network " + to_string(mine.net) +
                         " with the same template T:" + hex16(mine.templates[0]).substr(0, 8) +
                         " and request parameters: each key drew a shadow finding, went silent, and the next began; "
                         "the last before this one, " + old.key_fp + ", was flagged at " + format_utc(old.ts));
    m.evidence.push_back("this key's first request came " + format_duration(gap) + " after that; linked after " +
                         std::to_string(requests) + " requests");
    return m;
  }
  m.score = c.rotation_score;
  m.members = 2;
  m.evidence.push_back("likely rotation of " + old.key_fp + " (" + old.action + " at " + format_utc(old.ts) +
                       "): same template T:" + hex16(mine.templates[0]).substr(0, 8) + ", same client network " +
                       to_string(mine.net) + ", same request parameters");
  m.evidence.push_back("this key's first request came " + format_duration(std::abs(gap)) +
                       (gap >= 0 ? " after" : " before") + " that action; linked after " + std::to_string(requests) +
                       " requests");
  return m;
}

}  // namespace dg::detectors::campaign
