#pragma once
/// One writer thread fed by a queue: producers take a short mutex to push an
/// item and never wait on the disk; the thread hands everything queued since
/// its last turn to `drain`, in push order, outside the mutex. The pattern of
/// the capture log, shared by the decision store's journal and audit writes.
///
/// `flush()` waits until every item pushed before it has been drained (tests,
/// shutdown, an operator waiting for an acknowledgement); the destructor
/// drains what is queued, then joins. Thread-safe. `drain` runs on the writer
/// thread only, so the files it writes need no lock of their own.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace dg::gateway {

template <class Item>
class SerialWriter {
 public:
  using Drain = std::function<void(std::deque<Item>& batch)>;

  explicit SerialWriter(Drain drain) : drain_(std::move(drain)), thread_([this] { run(); }) {}
  ~SerialWriter() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  SerialWriter(const SerialWriter&) = delete;
  SerialWriter& operator=(const SerialWriter&) = delete;

  /// Queues `item`. Returns false (the item is dropped) when `max_queued`
  /// items are waiting already; 0 = no bound.
  bool push(Item item, std::size_t max_queued = 0) {
    {
      std::lock_guard lock(mutex_);
      if (max_queued != 0 && queue_.size() >= max_queued) return false;
      queue_.push_back(std::move(item));
      ++pushed_;
    }
    wake_.notify_one();
    return true;
  }

  /// Runs `fn` under the queue's mutex, then queues the item it returns
  /// (an std::optional<Item>; nullopt queues nothing): what `fn` changes in
  /// memory is ordered exactly like the queued items (the decision store
  /// keeps its table and its journal in one order this way). Returns whether
  /// an item was queued.
  template <class Fn>
  bool push_with(Fn&& fn) {
    {
      std::lock_guard lock(mutex_);
      auto item = fn();
      if (!item) return false;
      queue_.push_back(std::move(*item));
      ++pushed_;
    }
    wake_.notify_one();
    return true;
  }

  /// Blocks until everything pushed so far is drained.
  void flush() {
    std::unique_lock lock(mutex_);
    const auto target = pushed_;
    drained_cv_.wait(lock, [&] { return drained_ >= target; });
  }

  /// Items waiting (not yet handed to drain).
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  void run() {
    std::deque<Item> batch;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and nothing left
      batch.swap(queue_);
      lock.unlock();
      const auto n = batch.size();
      drain_(batch);
      batch.clear();
      lock.lock();
      drained_ += n;
      drained_cv_.notify_all();
    }
  }

  Drain drain_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_cv_;
  std::deque<Item> queue_;
  std::uint64_t pushed_ = 0;
  std::uint64_t drained_ = 0;
  bool stopping_ = false;
  std::thread thread_;  ///< last: starts after the members it reads exist
};

}  // namespace dg::gateway
