#pragma once
/// A value published as immutable snapshots (a policy, an engine
/// configuration): readers get a shared_ptr to the current one, writers swap
/// it (hot reload). A reader takes no lock unless a store happened since its
/// thread last looked: it compares a version number (one acquire load) with
/// the one its thread cached together with the snapshot.
///
/// Why not std::atomic<std::shared_ptr<const T>>: GCC 12's load() copies the
/// pointer under an internal lock bit and then releases that bit with a
/// relaxed store (bits/shared_ptr_atomic.h), so the copy is not ordered
/// before the next store() by another thread: a data race under the C++
/// memory model, which ThreadSanitizer reported in the campaign linker's
/// reconfigure test. x86 hides it; weakly ordered CPUs (ARM64) need not.
///
/// Each thread keeps at most one older snapshot per type alive (its cache)
/// until it next loads.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace dg::detectors {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> value) { store(std::move(value)); }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  std::shared_ptr<const T> load() const {
    thread_local Cache cache;
    const std::uint64_t version = version_.load(std::memory_order_acquire);
    if (cache.owner != this || cache.version != version) {
      std::lock_guard lock(mutex_);
      cache.owner = this;
      cache.version = version_.load(std::memory_order_relaxed);
      cache.value = value_;
    }
    return cache.value;
  }

  void store(std::shared_ptr<const T> value) {
    std::shared_ptr<const T> old;  // released after the lock
    std::lock_guard lock(mutex_);
    old = std::exchange(value_, std::move(value));
    // Versions are unique in the process: a new Snapshot at the address of
    // a destroyed one never matches a thread's stale cache.
    version_.store(next_version(), std::memory_order_release);
  }

 private:
  struct Cache {
    const Snapshot* owner = nullptr;
    std::uint64_t version = 0;
    std::shared_ptr<const T> value;
  };

  static std::uint64_t next_version() {
    static std::atomic<std::uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace dg::detectors
