#include "gateway/enforce/shared_counters.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace dg::gateway {

namespace {

std::int64_t window_index(double now, double window_s) {
  return static_cast<std::int64_t>(std::floor(now / window_s));
}

std::int64_t whole(double v) { return static_cast<std::int64_t>(std::llround(std::max(v, 0.0))); }

}  // namespace

SharedCounters::SharedCounters(std::size_t max_keys)
    : per_shard_cap_(std::max<std::size_t>(1, max_keys / kShards)), shards_(std::make_unique<Shard[]>(kShards)) {}

std::string SharedCounters::id_of(SharedCounterKind kind, std::string_view key_fp) {
  std::string id;
  id.reserve(key_fp.size() + 1);
  id += kind == SharedCounterKind::Throttle ? 't' : 'b';
  id += key_fp;
  return id;
}

SharedCounters::Shard& SharedCounters::shard_of(std::string_view id) const {
  return shards_[std::hash<std::string_view>{}(id) % kShards];
}

void SharedCounters::roll(Entry& e, double window_s, double now) {
  const auto index = window_index(now, window_s);
  if (e.window_s != window_s) {  // the policy's window changed: a fresh count
    e = Entry{.window_s = window_s, .index = index, .last_touch = e.last_touch, .queued = e.queued};
    return;
  }
  if (index <= e.index) return;
  if (index == e.index + 1) {
    e.prev_dirty = e.curr_dirty;  // the final count of the window just closed still has to go out
    e.own_prev = e.own_curr;
    e.others_prev = e.others_curr;
    e.prev_read = true;
  } else {
    e.own_prev = e.others_prev = 0;
    e.prev_dirty = e.prev_read = false;
  }
  e.own_curr = e.others_curr = 0;
  e.curr_dirty = false;
  e.index = index;
}

SharedCounters::Estimate SharedCounters::estimate_of(const Entry& e, double now) {
  const double start = static_cast<double>(e.index) * e.window_s;
  const double weight = std::clamp(1 - (now - start) / e.window_s, 0.0, 1.0);
  Estimate out;
  out.own = e.own_prev * weight + e.own_curr;
  out.others = e.others_prev * weight + e.others_curr;
  out.prev_weight = weight;
  out.prev_total = e.own_prev + e.others_prev;
  out.curr_total = e.own_curr + e.others_curr;
  return out;
}

SharedCounters::Entry* SharedCounters::touch(Shard& s, const std::string& id, double window_s, double now) {
  auto it = s.entries.find(id);
  if (it == s.entries.end()) {
    if (s.entries.size() >= per_shard_cap_ || !(window_s > 0)) return nullptr;
    it = s.entries.emplace(id, Entry{.window_s = window_s, .index = window_index(now, window_s)}).first;
  }
  Entry& e = it->second;
  roll(e, window_s, now);
  e.last_touch = std::max(e.last_touch, now);
  queue(s, id, e);
  return &e;
}

SharedCounters::Estimate SharedCounters::estimate(SharedCounterKind kind, std::string_view key_fp, double window_s,
                                                  double now) {
  const auto id = id_of(kind, key_fp);
  auto& s = shard_of(id);
  std::lock_guard lock(s.mutex);
  const Entry* e = touch(s, id, window_s, now);
  return e ? estimate_of(*e, now) : Estimate{};
}

void SharedCounters::add(SharedCounterKind kind, std::string_view key_fp, double window_s, double now, double amount) {
  const auto id = id_of(kind, key_fp);
  auto& s = shard_of(id);
  std::lock_guard lock(s.mutex);
  Entry* e = touch(s, id, window_s, now);
  if (!e || !(amount > 0)) return;
  e->own_curr += amount;
  e->curr_dirty = true;
}

SharedCounters::Admission SharedCounters::admit(SharedCounterKind kind, std::string_view key_fp, double window_s,
                                                double now, double limit, double amount, bool take) {
  const auto id = id_of(kind, key_fp);
  auto& s = shard_of(id);
  std::lock_guard lock(s.mutex);
  Entry* e = touch(s, id, window_s, now);
  if (!e) return {true, {}};  // over the cap: local limits only
  Admission a{false, estimate_of(*e, now)};
  // A hair of tolerance: the sliding weight is a real number.
  a.ok = a.before.total() + amount <= limit + 1e-9;
  if (a.ok && take && amount > 0) {
    e->own_curr += amount;
    e->curr_dirty = true;
  }
  return a;
}

std::vector<SharedCounters::Update> SharedCounters::take(double now) {
  std::vector<Update> out;
  const bool sweep = now - last_sweep_ >= kRefreshS;
  if (sweep) last_sweep_ = now;
  for (std::size_t i = 0; i < kShards; ++i) {
    auto& s = shards_[i];
    std::lock_guard lock(s.mutex);
    std::vector<std::string> ids;
    ids.swap(s.touched);
    for (auto& id : ids) {
      auto it = s.entries.find(id);
      if (it == s.entries.end()) continue;
      Entry& e = it->second;
      roll(e, e.window_s, now);
      const bool quiet = now - e.last_touch >= kRefreshS;
      if (quiet && !e.curr_dirty && !e.prev_dirty) {
        e.queued = false;  // nothing to write, and nobody here reads it
        e.prev_read = false;
        continue;
      }
      const auto kind = id[0] == 't' ? SharedCounterKind::Throttle : SharedCounterKind::Budget;
      const std::string_view fp = std::string_view(id).substr(1);
      if (e.prev_dirty || e.prev_read) {
        out.push_back({kind, std::string(fp), e.window_s, e.index - 1, whole(e.own_prev), e.prev_dirty});
        e.prev_dirty = e.prev_read = false;
      }
      out.push_back({kind, std::string(fp), e.window_s, e.index, whole(e.own_curr), e.curr_dirty});
      e.curr_dirty = false;
      if (!quiet) {
        s.touched.push_back(std::move(id));  // still refreshed by the next flush
      } else {
        e.queued = false;
      }
    }
    // Keys untouched for two windows hold nothing that still weighs (swept
    // every kRefreshS, not on every flush).
    if (sweep) {
      std::erase_if(s.entries, [&](const auto& kv) {
        return !kv.second.queued && now - kv.second.last_touch >= 2 * kv.second.window_s;
      });
    }
  }
  return out;
}

void SharedCounters::queue(Shard& s, const std::string& id, Entry& e) {
  if (e.queued) return;
  e.queued = true;
  s.touched.push_back(id);
}

template <class F>
void SharedCounters::with_window(const Update& u, F f) {
  const auto id = id_of(u.kind, u.key_fp);
  auto& s = shard_of(id);
  std::lock_guard lock(s.mutex);
  auto it = s.entries.find(id);
  if (it == s.entries.end() || it->second.window_s != u.window_s) return;
  Entry& e = it->second;
  // The window `u` names, if it is still the current or the previous one.
  if (u.index == e.index) f(s, id, e, true);
  else if (u.index == e.index - 1) f(s, id, e, false);
}

void SharedCounters::settle(const Update& u, double others) {
  with_window(u, [others](Shard&, const std::string&, Entry& e, bool current) {
    (current ? e.others_curr : e.others_prev) = std::max(others, 0.0);
  });
}

void SharedCounters::retry(const Update& u) {
  if (!u.write) return;
  with_window(u, [](Shard& s, const std::string& id, Entry& e, bool current) {
    (current ? e.curr_dirty : e.prev_dirty) = true;
    queue(s, id, e);
  });
}

void SharedCounters::rewrite_all() {
  for (std::size_t i = 0; i < kShards; ++i) {
    auto& s = shards_[i];
    std::lock_guard lock(s.mutex);
    for (auto& [id, e] : s.entries) {
      if (e.own_curr > 0) e.curr_dirty = true;
      if (e.own_prev > 0) e.prev_dirty = true;
      queue(s, id, e);
    }
  }
}

std::size_t SharedCounters::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    n += shards_[i].entries.size();
  }
  return n;
}

}  // namespace dg::gateway
