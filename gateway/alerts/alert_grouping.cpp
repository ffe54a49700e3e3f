#include "gateway/alerts/alert_grouping.hpp"

namespace dg::gateway {

std::string AlertGrouper::group_of(const Alert& alert) {
  if (!alert.campaign.empty()) return "campaign:" + alert.campaign;
  return "key:" + alert.key_fp;
}

bool AlertGrouper::admit(Alert& alert) {
  if (window_ <= 0) return true;
  prune(alert.ts);
  auto& g = groups_[group_of(alert)];
  const bool always = alert.event == AlertEvent::DecisionEscalated || alert.event == AlertEvent::DecisionLifted;
  if (!always && g.paged && alert.ts - g.last_page < window_) {
    ++g.suppressed;
    return false;
  }
  alert.grouped_count = g.suppressed;
  g.suppressed = 0;
  g.paged = true;
  g.last_page = alert.ts;
  return true;
}

void AlertGrouper::prune(double now) {
  // Sweep at most once per window, and only when the table grew; keeps the
  // per-alert cost O(1) amortised.
  if (groups_.size() < 1024 || now - last_prune_ < window_) return;
  last_prune_ = now;
  std::erase_if(groups_, [&](const auto& kv) { return now - kv.second.last_page >= window_ && kv.second.suppressed == 0; });
}

}  // namespace dg::gateway
