#include "gateway/decisions/decision_store.hpp"

#include <spdlog/spdlog.h>

namespace dg::gateway {

using detectors::Action;
using detectors::Decision;

DecisionStore::DecisionStore(DecisionStoreOptions options)
    : options_(std::move(options)), audit_(options_.audit_path) {
  if (!options_.journal.path.empty()) journal_ = std::make_unique<DecisionJournal>(options_.journal);
}

bool DecisionStore::open(double now, std::vector<std::string>& warnings, std::string& error) {
  if (!journal_) return true;
  auto loaded = DecisionJournal::load(options_.journal.path);
  warnings = std::move(loaded.warnings);
  std::lock_guard lock(write_mutex_);
  for (auto& d : loaded.decisions) table_.put(std::move(d));
  table_.sweep(now, options_.memory_s);
  return journal_->compact(table_.all(), error);
}

bool DecisionStore::apply(const Decision& d, std::string_view actor, double now) {
  bool ok = true;
  std::optional<Action> previous;
  {
    std::lock_guard lock(write_mutex_);
    if (auto prev = table_.active(d.key_fp, now)) previous = prev->action;
    table_.put(d);
    if (journal_) {
      ok = journal_->append_put(d);
      if (ok && journal_->needs_compaction()) {
        std::string error;
        if (!journal_->compact(table_.all(), error)) {
          spdlog::warn("decision journal: {}", error);
          ok = false;
        }
      }
    }
  }
  if (!ok) {
    journal_failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("decision journal: could not persist the decision for {} (kept in memory)", d.key_fp);
  }
  changes_.fetch_add(1, std::memory_order_relaxed);
  const bool lift = d.action == Action::Allow && d.origin == detectors::Origin::Operator;
  if (!audit_.record(lift ? "lift" : "decision", d, actor, now, previous)) {
    audit_failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("audit log: cannot write {}", audit_.path());
  }
  if (listener_) listener_(d, actor);
  if (extra_listener_) extra_listener_(d, actor);
  if (fleet_listener_) fleet_listener_(d, actor);
  return ok;
}

std::size_t DecisionStore::sweep(double now) {
  std::vector<Decision> gone;
  {
    std::lock_guard lock(write_mutex_);
    for (const auto& d : table_.all())
      if (d.expires != 0 && d.expires + options_.memory_s < now) gone.push_back(d);
    for (const auto& d : gone) {
      table_.erase(d.key_fp);
      if (journal_ && !journal_->append_remove(d.key_fp, now)) journal_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  for (const auto& d : gone)
    if (!audit_.record("expire", d, "system", now)) audit_failures_.fetch_add(1, std::memory_order_relaxed);
  return gone.size();
}

}  // namespace dg::gateway
