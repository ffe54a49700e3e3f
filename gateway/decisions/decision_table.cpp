#include "gateway/decisions/decision_table.hpp"

#include <mutex>

namespace dg::gateway {

using detectors::Decision;

DecisionTable::DecisionTable(std::size_t shards)
    : shards_(std::make_unique<Shard[]>(shards == 0 ? 1 : shards)), shard_count_(shards == 0 ? 1 : shards) {}

DecisionTable::Shard& DecisionTable::shard_of(std::string_view key_fp) const {
  return shards_[Hash{}(key_fp) % shard_count_];
}

std::shared_ptr<const Decision> DecisionTable::active(std::string_view key_fp, double now) const {
  auto& s = shard_of(key_fp);
  std::shared_lock lock(s.mutex);
  auto it = s.map.find(key_fp);
  if (it == s.map.end() || !it->second->active(now)) return nullptr;
  return it->second;
}

std::optional<Decision> DecisionTable::latest(std::string_view key_fp) const {
  auto& s = shard_of(key_fp);
  std::shared_lock lock(s.mutex);
  auto it = s.map.find(key_fp);
  if (it == s.map.end()) return std::nullopt;
  return *it->second;
}

void DecisionTable::put(Decision d) {
  auto& s = shard_of(d.key_fp);
  auto ptr = std::make_shared<const Decision>(std::move(d));
  std::unique_lock lock(s.mutex);
  s.map.insert_or_assign(ptr->key_fp, std::move(ptr));
}

bool DecisionTable::erase(std::string_view key_fp) {
  auto& s = shard_of(key_fp);
  std::unique_lock lock(s.mutex);
  auto it = s.map.find(key_fp);
  if (it == s.map.end()) return false;
  s.map.erase(it);
  return true;
}

std::vector<Decision> DecisionTable::all() const {
  std::vector<Decision> out;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::shared_lock lock(shards_[i].mutex);
    for (const auto& [fp, d] : shards_[i].map) out.push_back(*d);
  }
  return out;
}

std::vector<Decision> DecisionTable::active_all(double now) const {
  std::vector<Decision> out;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::shared_lock lock(shards_[i].mutex);
    for (const auto& [fp, d] : shards_[i].map)
      if (d->active(now)) out.push_back(*d);
  }
  return out;
}

std::size_t DecisionTable::sweep(double now, double memory_s) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::unique_lock lock(shards_[i].mutex);
    for (auto it = shards_[i].map.begin(); it != shards_[i].map.end();) {
      const auto& d = *it->second;
      if (d.expires != 0 && d.expires + memory_s < now) {
        it = shards_[i].map.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  }
  return removed;
}

std::size_t DecisionTable::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::shared_lock lock(shards_[i].mutex);
    n += shards_[i].map.size();
  }
  return n;
}

}  // namespace dg::gateway
