#include "gateway/decisions/decision_store.hpp"

#include <spdlog/spdlog.h>

namespace dg::gateway {

using detectors::Action;
using detectors::Decision;

DecisionStore::DecisionStore(DecisionStoreOptions options)
    : DecisionStore(options, options.journal.path.empty() ? nullptr : std::make_unique<DecisionJournal>(options.journal)) {}

DecisionStore::DecisionStore(DecisionStoreOptions options, std::unique_ptr<JournalSink> journal)
    : options_(std::move(options)), journal_(std::move(journal)), audit_(options_.audit_path) {
  if (journal_ || !audit_.path().empty())
    writer_ = std::make_unique<SerialWriter<Write>>([this](std::deque<Write>& batch) { drain(batch); });
}

DecisionStore::~DecisionStore() = default;  // writer_ goes first: it drains its queue

bool DecisionStore::open(double now, std::vector<std::string>& warnings, std::string& error) {
  if (!journal_) return true;
  // Before serving: nothing is queued yet, so the file is this thread's.
  auto loaded = DecisionJournal::load(options_.journal.path);
  warnings = std::move(loaded.warnings);
  std::lock_guard lock(write_mutex_);
  for (auto& d : loaded.decisions) table_.put(std::move(d));
  table_.sweep(now, options_.memory_s);
  return journal_->compact(table_.all(), error);
}

bool DecisionStore::change(const Decision& d, std::string_view actor, double now, std::function<void(bool)> done,
                           bool only_if_newer) {
  auto update = [&]() -> std::optional<Write> {
    if (only_if_newer) {
      if (auto local = table_.latest(d.key_fp); local && local->created >= d.created) return std::nullopt;
    }
    std::optional<Write> item(std::in_place);
    auto& w = *item;
    if (auto prev = table_.active(d.key_fp, now)) w.previous = prev->action;
    table_.put(d);
    w.kind = Write::Kind::Put;
    w.decision = d;
    const bool lift = d.action == Action::Allow && d.origin == detectors::Origin::Operator;
    w.event = lift ? "lift" : "decision";
    w.actor = std::string(actor);
    w.ts = now;
    w.done = std::move(done);
    return item;
  };
  if (writer_) {
    if (!writer_->push_with(update)) return false;
  } else {
    std::lock_guard lock(write_mutex_);
    auto w = update();
    if (!w) return false;
    if (w->done) w->done(true);
  }
  changes_.fetch_add(1, std::memory_order_relaxed);
  if (listener_) listener_(d, actor);
  if (extra_listener_) extra_listener_(d, actor);
  if (fleet_listener_) fleet_listener_(d, actor);
  return true;
}

bool DecisionStore::apply(const Decision& d, std::string_view actor, double now) {
  bool ok = true;
  // flush() orders the writer's store to `ok` before this thread reads it.
  change(d, actor, now, [&ok](bool persisted) { ok = persisted; });
  flush();
  return ok;
}

void DecisionStore::post(const Decision& d, std::string_view actor, double now, std::function<void(bool)> done) {
  change(d, actor, now, std::move(done));
}

bool DecisionStore::post_if_newer(const Decision& d, std::string_view actor, double now) {
  return change(d, actor, now, {}, /*only_if_newer=*/true);
}

std::size_t DecisionStore::sweep(double now) {
  const auto past_memory = [&](const Decision& d) { return d.expires != 0 && d.expires + options_.memory_s < now; };
  std::size_t removed = 0;
  for (const auto& candidate : table_.all()) {
    if (!past_memory(candidate)) continue;
    // Checked again under the lock: the key may have a new decision by now.
    auto forget = [&]() -> std::optional<Write> {
      auto d = table_.latest(candidate.key_fp);
      if (!d || !past_memory(*d)) return std::nullopt;
      table_.erase(d->key_fp);
      std::optional<Write> item(std::in_place);
      item->kind = Write::Kind::Remove;
      item->decision = std::move(*d);
      item->event = "expire";
      item->actor = "system";
      item->ts = now;
      return item;
    };
    bool forgot = false;
    if (writer_) {
      forgot = writer_->push_with(forget);
    } else {
      std::lock_guard lock(write_mutex_);
      forgot = forget().has_value();
    }
    if (forgot) ++removed;
  }
  return removed;
}

void DecisionStore::flush() {
  if (writer_) writer_->flush();
}

bool DecisionStore::reopen_audit() {
  if (!writer_) return true;  // no audit log
  bool ok = true;
  Write w;
  w.kind = Write::Kind::ReopenAudit;
  w.done = [&ok](bool reopened) { ok = reopened; };
  writer_->push(std::move(w));
  flush();
  return ok;
}

void DecisionStore::drain(std::deque<Write>& batch) {
  for (auto& w : batch) {
    if (w.kind == Write::Kind::ReopenAudit) {
      const bool ok = audit_.reopen();
      if (w.done) w.done(ok);
      continue;
    }
    bool ok = true;
    const bool put = w.kind == Write::Kind::Put;
    if (journal_) {
      ok = put ? journal_->append_put(w.decision) : journal_->append_remove(w.decision.key_fp, w.ts);
      // Any snapshot taken after this write is a valid base for the writes
      // still queued: each of them is a later change of its key's entry.
      if (put && ok && journal_->needs_compaction()) {
        std::string error;
        if (!journal_->compact(table_.all(), error)) {
          spdlog::warn("decision journal: {}", error);
          ok = false;
        }
      }
    }
    if (!ok) {
      journal_failures_.fetch_add(1, std::memory_order_relaxed);
      last_journal_failure_.store(w.ts, std::memory_order_relaxed);
      if (put) spdlog::warn("decision journal: could not persist the decision for {} (kept in memory)", w.decision.key_fp);
    }
    if (!audit_.record(w.event, w.decision, w.actor, w.ts, w.previous)) {
      audit_failures_.fetch_add(1, std::memory_order_relaxed);
      if (put) spdlog::warn("audit log: cannot write {}", audit_.path());
    }
    if (w.done) w.done(ok);
  }
}

}  // namespace dg::gateway
