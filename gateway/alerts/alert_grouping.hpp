#pragma once
/// Grouping: one key or campaign pages at most once per window.
///
/// The rule (event time, the alert's `ts`):
/// - The group of an alert is its campaign when it has one ("campaign:<id>"),
///   otherwise its key ("key:<fp>"). So the forty keys of one hydra campaign
///   page once, not forty times.
/// - decision_created and campaign_detected are suppressed when their group
///   paged less than `window` seconds earlier; suppressions are counted and
///   the next alert of the group that goes out carries `grouped_count`.
/// - decision_escalated and decision_lifted always go through (a change the
///   team must act on), and they restart the group's window.
/// - window 0 disables grouping.
/// Memory is bounded: groups idle for longer than the window are pruned.
/// Not thread-safe; the dispatcher calls it under its queue lock.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "gateway/alerts/alert.hpp"

namespace dg::gateway {

class AlertGrouper {
 public:
  explicit AlertGrouper(double window_seconds) : window_(window_seconds) {}

  /// True when `alert` should be sent (and then sets its grouped_count);
  /// false when it is suppressed.
  bool admit(Alert& alert);

  static std::string group_of(const Alert& alert);
  std::size_t groups() const noexcept { return groups_.size(); }

 private:
  struct Group {
    bool paged = false;
    double last_page = 0;
    std::uint32_t suppressed = 0;
  };
  void prune(double now);

  double window_;
  std::unordered_map<std::string, Group> groups_;
  double last_prune_ = 0;
};

}  // namespace dg::gateway
